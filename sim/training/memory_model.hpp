#pragma once
// Per-GPU memory of a training plan: 16-bit weights, fp32 main gradients, fp32 Adam state (ZeRO
// shards them), activations per Korthikanti et al. 2022 held for as many microbatches as the
// schedule keeps in flight, and working buffers.
#include <vector>

#include "sim/training/pipeline_schedule.hpp"
#include "sim/training/training_spec.hpp"

namespace foresight::sim {

struct MemoryBreakdown {
  double weights = 0, grads = 0, optimizer = 0, activations = 0, buffers = 0, peak = 0, capacity = 0;
  double reserved = 0;   // CUDA context and NCCL buffers (sim/model/device_reserve.hpp): not usable for tensors
  bool oom = false;
  int stage = 0;   // the pipeline stage with the largest footprint (the one reported)
};

// Activation bytes one transformer layer stores for one microbatch on one GPU, before recompute
// choices other than the spec's (Korthikanti et al. 2022, Table 2, generalised to GQA, SwiGLU and
// fused attention).
double layer_activation_bytes(const TrainingSpec& spec);

MemoryBreakdown estimate_memory(const TrainingSpec& spec, const std::vector<std::vector<PipeStep>>& schedule,
                                double capacity_bytes);

}  // namespace foresight::sim
