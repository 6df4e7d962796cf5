#include "hwmodels/cost/cost_model.hpp"

namespace foresight::hw {

double gemm_flops(const GemmQuery& q) { return 2.0 * double(q.m) * double(q.n) * double(q.k) * double(q.batch); }

// Forward: QK^T and PV, 2 FLOPs per multiply-add each; causal masking skips half of the scores.
// Backward: dV, dP, dQ, dK plus the recomputed QK^T of FlashAttention = 2.5x forward.
double attention_flops(const AttentionQuery& q) {
  double f = 4.0 * double(q.batch) * double(q.heads) * double(q.seq_q) * double(q.seq_kv) * double(q.head_dim);
  if (q.causal) f *= 0.5;
  if (q.backward) f *= 2.5;
  return f;
}

}  // namespace foresight::hw
