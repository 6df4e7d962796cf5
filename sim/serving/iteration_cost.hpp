#pragma once
// How long one step of a serving replica takes, from what it batches: GEMMs over every token of
// the step, attention per sequence (a prefill chunk against its own context; decode tokens as one
// paged-attention kernel over each sequence's real KV length), memory-bound ops, the tensor-parallel
// all-reduces and the pipeline sends of the replica's GPUs, the logits, and the engine's CPU
// overhead. Token-count-dependent parts are computed once per count and reused.
#include <cstdint>
#include <string>
#include <vector>

#include "hwmodels/cost/cost_model.hpp"
#include "sim/collectives/collective_model.hpp"
#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

// What one step runs.
struct StepShape {
  int64_t tokens = 0;                       // all new tokens (prefill chunks + decodes)
  int64_t sampled = 0;                      // sequences that produce a token (need logits)
  std::vector<std::pair<int64_t, int64_t>> prefills;  // (chunk tokens, context before the chunk)
  std::vector<int64_t> decode_context;      // KV length each decode attends over (incl. its new token)
};

struct StepCost {
  double gemm = 0, attention = 0, memory = 0, communication = 0, overhead = 0;
  double total() const { return gemm + attention + memory + communication + overhead; }
};

class IterationCost {
 public:
  // `ranks`: the replica's GPUs, tp-major within each pipeline stage.
  // `measured`: the calibration profile's collectives (nullable); the engines' custom all-reduce
  // kernels serve the tensor-parallel all-reduces it measured them for.
  IterationCost(const ServingSpec& spec, const hw::ComputeCostModel& cost, CollectiveModel& collectives,
                const hw::CalibratedCollectives* measured,
                std::vector<int> ranks);
  StepCost step(const StepShape& shape);

 private:
  struct PerTokens {
    double gemm = -1, memory = 0, communication = 0;   // a dense layer
    double moe_gemm = 0, moe_memory = 0;               // a mixture-of-experts layer (same communication)
  };
  const PerTokens& per_tokens(int64_t tokens);   // one layer's dense work and TP comm at this token count
  // The routed experts of one MoE layer on the busiest GPU at this token count (GEMM and memory time).
  std::pair<double, double> routed_experts(int64_t tokens) const;
  double gemm(int64_t m, int64_t n, int64_t k) const;   // in the replica's GEMM dtype; 0 when m <= 0
  double head(int64_t sampled);                  // embedding, final norm, LM head, logits gather, sampling

  const ServingSpec& spec_;
  const hw::ComputeCostModel& cost_;
  CollectiveModel& collectives_;
  std::vector<int> ranks_;
  std::vector<int> tp_group_;                    // first stage's TP group
  std::vector<PerTokens> memo_;
  std::vector<double> shares_;                   // MoE: each expert's share of the assignments
  std::vector<double> head_memo_;
  const hw::CalibratedCollectives* measured_ = nullptr;
};

}  // namespace foresight::sim
