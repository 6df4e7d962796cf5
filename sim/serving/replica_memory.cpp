#include "sim/serving/replica_memory.hpp"

#include <algorithm>
#include <cmath>

#include "core/dtype.hpp"
#include "sim/model/param_counts.hpp"

namespace foresight::sim {

namespace {

// CUDA context, cuBLAS workspaces and NCCL communicator buffers outside the PyTorch allocator,
// per GPU. NVIDIA AIConfigurator (aiconfigurator-core 0.12, systems/h100_sxm.yaml and
// h200_sxm.yaml) budgets 3.5 GiB of "other_mem" and 392 MB of NCCL memory at TP4/8.
constexpr double kOtherMemory = 3.5 * 1073741824.0;
constexpr double kNcclMemory = 392e6;
constexpr double kActivationBytes = 2.0;  // 16-bit activations

}  // namespace

int64_t kv_heads_per_gpu(const hw::ModelSpec& m, int tp) { return std::max<int64_t>(1, m.kv_heads / tp); }

double kv_bytes_per_token(const ServingSpec& s) {
  if (s.model.mla.kv_lora_rank > 0) return s.model.layers * mla_cache_width(s.model) * dtype_size(s.kv_dtype);
  return 2.0 * s.model.layers * s.model.kv_heads * head_dim(s.model) * dtype_size(s.kv_dtype);
}

double mla_cache_width(const hw::ModelSpec& m) { return double(m.mla.kv_lora_rank) + m.mla.qk_rope_head_dim; }

ReplicaMemory plan_replica_memory(const ServingSpec& s, const hw::GpuSpec& gpu) {
  const auto& m = s.model;
  ReplicaMemory r;
  r.capacity = gpu.memory_capacity;
  r.usable = r.capacity * s.scheduler.gpu_memory_utilization;
  const ParamCounts p = count_params(m);
  const double wbytes = dtype_size(s.precision);
  // Layers split over pipeline stages, every matrix over TP ranks; embeddings and the LM head are
  // vocabulary-parallel. The largest stage holds ceil(layers / pp) layers plus an embedding.
  const double layers_here = std::ceil(double(m.layers) / s.pp);
  const double embed = std::max(p.embedding, p.output) / s.tp;
  double per_layer = p.per_layer / s.tp;
  if (m.is_moe()) {
    // MoE layers: attention, norms, router and shared experts over TP; experts/ep routed experts,
    // each split over tp/ep. The few dense layers keep the dense per-layer count.
    const double moe_layer = p.moe_layer_dense / s.tp + double(m.moe.experts / s.ep) * p.expert / s.moe_tp();
    per_layer = (m.moe.first_dense_layers * per_layer + (m.layers - m.moe.first_dense_layers) * moe_layer) / m.layers;
  }
  r.weights = (layers_here * per_layer + embed) * wbytes;
  const double h = m.hidden, d = head_dim(m), tp = s.tp;
  const double T = s.scheduler.max_num_batched_tokens;
  const double qkv = (m.heads / tp + 2.0 * kv_heads_per_gpu(m, s.tp)) * d;
  const double mlp = (m.activation == "swiglu" ? 3.0 : 2.0) * m.ffn_hidden / tp;
  // One layer's live tensors at the token budget (layers run one after another and reuse them):
  // residual stream and normed input, QKV, attention output, the MLP's intermediate, plus the
  // logits of every sampled sequence in fp32 over the whole vocabulary.
  r.activations = T * (2 * h + qkv + m.heads / tp * d + mlp) * kActivationBytes +
                  double(s.scheduler.max_num_seqs) * m.vocab * 4.0;
  if (m.is_moe()) {
    // Routed tokens: the permuted copies (top_k per token) and, on this GPU's experts (1/ep of
    // them on average), their intermediate activations; fp32 router scores.
    const double fe = double(m.moe.expert_ffn_hidden) / s.moe_tp(), k = m.moe.top_k;
    r.activations += T * k * h * kActivationBytes + T * k / s.ep * (m.activation == "swiglu" ? 3.0 : 2.0) * fe * kActivationBytes +
                     T * m.moe.experts * 4.0;
  }
  r.reserved = kOtherMemory + (s.tp > 1 ? kNcclMemory : 0.0);
  const double layers_kv = std::ceil(double(m.layers) / s.pp);
  r.kv_bytes_per_token = 2.0 * layers_kv * kv_heads_per_gpu(m, s.tp) * d * dtype_size(s.kv_dtype);
  // Latent attention caches one compressed latent and rotary key per token and layer, which every
  // tensor-parallel rank keeps whole (the heads share it).
  if (m.mla.kv_lora_rank > 0) r.kv_bytes_per_token = layers_kv * mla_cache_width(m) * dtype_size(s.kv_dtype);
  if (s.speculative.enabled()) {
    // The drafter's weights and its KV cache (one entry per token, beside the target's) live on the
    // same GPUs.
    const ReplicaMemory d = plan_replica_memory(draft_spec(s), gpu);
    r.weights += d.weights;
    r.kv_bytes_per_token += d.kv_bytes_per_token;
  }
  r.block_bytes = r.kv_bytes_per_token * s.scheduler.block_size;
  if (s.scheduler.num_gpu_blocks) {
    r.blocks = *s.scheduler.num_gpu_blocks;
    r.overridden = true;
  } else {
    const double kv = r.usable - r.weights - r.activations - r.reserved;
    r.blocks = kv > 0 ? static_cast<int64_t>(std::floor(kv / r.block_bytes)) : 0;
  }
  r.sources = {"KV and weights from the model's shape and dtypes; capacity = catalog memory x gpu_memory_utilization",
               "reserved = 3.5 GiB other + 392 MB NCCL per GPU (NVIDIA AIConfigurator 0.12 systems/h100_sxm.yaml)",
               "activations = one layer's tensors at max_num_batched_tokens + fp32 logits of max_num_seqs"};
  return r;
}

}  // namespace foresight::sim
