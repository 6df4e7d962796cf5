#pragma once
// What a user asks to train: model shape, batch, precision and the parallelism plan, validated
// against the cluster size. Everything downstream (planner, schedules, memory) reads only this.
#include <cstdint>
#include <string>
#include <vector>

#include "hwmodels/catalog/catalog.hpp"
#include "core/yaml_reader.hpp"
#include "sim/model/parallelism.hpp"
#include "sim/moe/routing.hpp"
#include "sim/scenario/workload.hpp"

namespace foresight::sim {

struct TrainingSpec : WorkloadSpec {
  hw::ModelSpec model;
  int64_t sequence_length = 0;
  int64_t global_batch = 0;   // sequences per iteration
  int64_t micro_batch = 1;
  std::string precision = "bf16";   // bf16 | fp16 | fp8
  // The dtype of the main-gradient buffer and of its data-parallel reduction. Default: fp32 for
  // bf16/fp8 (NeMo's bf16_mixed recipe sets grad_reduce_in_fp32=True; Megatron-LM forces fp32
  // accumulate-allreduce for bf16), fp16 for fp16 (Megatron-LM 2021 reduced fp16 gradients).
  std::string grad_reduce_dtype;    // fp32 | bf16 | fp16; empty until parsed
  std::string grad_dtype() const { return grad_reduce_dtype.empty() ? (precision == "fp16" ? "fp16" : "fp32") : grad_reduce_dtype; }
  ParallelismSpec par;
  int zero = 0;
  std::string recompute = "none";   // none | selective | full
  std::string schedule = "1f1b";    // gpipe | 1f1b | interleaved | dualpipe
  bool overlap_dp_grad_reduce = true, overlap_dp_param_gather = true, overlap_tp_comm = false;
  // overlap.ep_comm (1f1b): steady-state forward/backward pairs of different microbatches run
  // interleaved, each pass's all-to-alls hidden by the other's compute (dualpipe always does).
  bool overlap_ep_comm = false;
  double dp_bucket_bytes = 25.0 * 1048576;
  // flash: fused attention that never materialises the s x s scores (FlashAttention-2/3).
  // unfused: batched QK^T / PV GEMMs plus softmax and dropout over s x s tensors (Megatron 2021).
  std::string attention_kernel = "flash";
  // Mixture-of-experts: how tokens travel to their experts (deepep: DeepEP's hierarchical kernels,
  // each token once per node and GPU, fp8 under fp8 training; alltoall: Megatron-core's NCCL
  // all-to-all, one copy per token and expert) and how they are routed.
  std::string moe_dispatcher = "alltoall";
  RoutingSpec routing;

  // Megatron-LM/NeMo run PyTorch's cuBLAS(Lt) GEMMs (through Transformer Engine) and FlashAttention:
  // the kernels vLLM's tables measured (torch.nn.functional.linear, vllm_flash_attn FA3).
  std::string kernel_family() const override { return "vllm"; }
  nlohmann::json describe() const override;

  int64_t microbatches() const { return global_batch / (par.dp * micro_batch); }
  // Layers held by virtual pipeline stage `vstage` (0 .. virtual_stages()-1), after embedding/loss accounting.
  int layers_in_virtual_stage(int vstage) const;
  // Model chunks per stage and their virtual stages: interleaved, chunk c of stage s is c*pp + s;
  // dualpipe, a stage holds two copies, chunk s for direction 0 and chunk pp-1-s for direction 1.
  bool dualpipe() const { return schedule == "dualpipe"; }
  int chunks() const { return dualpipe() ? 2 : par.vpp; }
  int virtual_stages() const { return dualpipe() ? par.pp : par.pp * par.vpp; }
  int vstage_of(int chunk, int stage) const {
    return dualpipe() ? (chunk == 0 ? stage : par.pp - 1 - stage) : chunk * par.pp + stage;
  }
  int stage_of(int vstage, int chunk) const {
    return dualpipe() ? (chunk == 0 ? vstage : par.pp - 1 - vstage) : vstage % par.pp;
  }
};

TrainingSpec parse_training(const YamlNode& model, const YamlNode& training, const hw::Catalog& catalog,
                            int total_gpus, int nvlink_domain);

// Cross-field checks shared by the YAML path and programmatic construction; throws InputError
// attributed to `where` (the training node) with the offending key paths.
void validate_training(TrainingSpec& spec, const YamlNode& where, int total_gpus, int nvlink_domain);

}  // namespace foresight::sim
