#include "hwmodels/cost/cost_model.hpp"

namespace foresight::hw {

double gemm_flops(const GemmQuery& q) { return 2.0 * double(q.m) * double(q.n) * double(q.k) * double(q.batch); }

// Forward: QK^T and PV, 2 FLOPs per multiply-add each; causal masking skips half of the scores.
// Backward: dV, dP, dQ, dK plus the recomputed QK^T of FlashAttention = 2.5x forward.
double attention_flops(const AttentionQuery& q) {
  const double per_pair = 4.0 * double(q.batch) * double(q.heads) * double(q.head_dim);
  const double sq = double(q.seq_q), skv = double(q.seq_kv);
  double f = per_pair * sq * skv;
  // A chunk that follows cached context sees all of it plus the causal half of itself.
  if (q.causal) f = skv > sq ? per_pair * sq * (skv - 0.5 * sq) : 0.5 * f;
  if (q.backward) f *= 2.5;
  return f;
}

double decode_attention_flops(const DecodeAttentionQuery& q) {
  double tokens = 0;
  for (size_t i = 0; i < q.sequences; ++i) tokens += double(q.context[i]);
  return 4.0 * double(q.heads) * double(q.head_dim) * tokens;
}

Estimate ComputeCostModel::decode_attention(const DecodeAttentionQuery& q) const {
  Estimate total;
  for (size_t i = 0; i < q.sequences; ++i) {
    AttentionQuery a;
    a.batch = 1, a.seq_q = 1, a.seq_kv = q.context[i], a.heads = q.heads, a.kv_heads = q.kv_heads;
    a.head_dim = q.head_dim, a.causal = false, a.dtype = q.dtype;
    const Estimate e = attention(a);
    total.seconds += e.seconds;
    total.source = e.source;
    total.extrapolated = total.extrapolated || e.extrapolated;
  }
  return total;
}

}  // namespace foresight::hw
