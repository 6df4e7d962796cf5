#pragma once
// What one GPU of a serving replica holds, and the KV cache capacity that is left, the way vLLM
// sizes it: usable = capacity x gpu_memory_utilization; KV = usable - weights - peak activation
// workspace - non-PyTorch memory (CUDA context, NCCL buffers), split into blocks.
#include <cstdint>
#include <string>
#include <vector>

#include "hwmodels/catalog/catalog.hpp"
#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

struct ReplicaMemory {
  double capacity = 0;            // bytes per GPU (catalog)
  double usable = 0;              // capacity x gpu_memory_utilization
  double weights = 0;             // this GPU's shard of the weights
  double activations = 0;         // peak workspace of one step at the token budget
  double reserved = 0;            // CUDA context and NCCL buffers
  double kv_bytes_per_token = 0;  // on this GPU: 2 x its layers x its KV heads x head_dim x bytes
  double block_bytes = 0;
  int64_t blocks = 0;             // KV cache capacity of the replica, in blocks
  bool overridden = false;        // blocks came from scheduler.num_gpu_blocks
  std::vector<std::string> sources;
};

ReplicaMemory plan_replica_memory(const ServingSpec& spec, const hw::GpuSpec& gpu);

// KV heads one GPU holds under tensor parallelism: a share, or one replica of each head when tp
// exceeds the model's KV heads.
int64_t kv_heads_per_gpu(const hw::ModelSpec& m, int tp);
double kv_bytes_per_token(const ServingSpec& spec);  // whole model, all layers, one copy of each head
// Latent attention: elements cached per token and layer (kv_lora_rank + qk_rope_head_dim).
double mla_cache_width(const hw::ModelSpec& m);

}  // namespace foresight::sim
