#include "hwmodels/calibrated_cost_model.hpp"

#include <algorithm>
#include <stdexcept>

#include "hwmodels/kernel_work.hpp"

namespace foresight::hw {

CalibratedCostModel::CalibratedCostModel(Profile profile, double peak_flops, double memory_bandwidth)
    : profile_(std::move(profile)), peak_flops_(peak_flops), memory_bandwidth_(memory_bandwidth),
      source_("profile:" + profile_.name) {
  if (!(peak_flops_ > 0) || !(memory_bandwidth_ > 0))
    throw std::invalid_argument("CalibratedCostModel needs positive fallback peak FLOP/s and memory bandwidth");
}

Estimate CalibratedCostModel::from_fit(const ComputeFit* fit, const KernelWork& w) const {
  Estimate e;
  e.source = source_;
  if (fit) {
    const Prediction p = predict(*fit, w);
    e.seconds = p.seconds;
    e.extrapolated = p.extrapolated;
    return e;
  }
  // No kernel family measured for this query: the datasheet roofline, flagged.
  e.seconds = std::max(w.flops / peak_flops_, w.bytes / memory_bandwidth_);
  e.extrapolated = true;
  return e;
}

Estimate CalibratedCostModel::gemm(const GemmQuery& q) const {
  const KernelWork w = gemm_work(q.m, q.n, q.k, q.batch, q.dtype);
  return from_fit(profile_.find_compute("gemm", q.dtype), w);
}

Estimate CalibratedCostModel::attention(const AttentionQuery& q) const {
  // Single-token queries against a KV cache are what the decode kernel was measured on.
  if (q.seq_q == 1 && !q.backward) {
    if (const ComputeFit* f = profile_.find_compute("decode_attention", q.dtype))
      return from_fit(f, decode_attention_work(q.batch, q.heads, q.kv_heads, q.head_dim, q.seq_kv, q.dtype));
  }
  const KernelWork w = attention_work(q.batch, q.seq_q, q.seq_kv, q.heads, q.kv_heads, q.head_dim, q.causal,
                                      q.backward, q.dtype);
  return from_fit(profile_.find_compute("attention", q.dtype, q.backward ? "backward" : "forward"), w);
}

Estimate CalibratedCostModel::memory_op(const MemoryOpQuery& q) const {
  KernelWork w;
  w.bytes = q.bytes;
  w.flops = q.flops;
  // MemoryOpQuery carries no dtype: the op was fitted on bytes moved, whatever the element type.
  if (const ComputeFit* f = profile_.find_compute(q.op, "")) return from_fit(f, w);
  // An op the sweep did not cover (e.g. the optimizer step) streams memory like copy does; use the
  // measured copy curve, but say that it is a stand-in.
  if (const ComputeFit* copy = profile_.find_compute("copy", "")) {
    Estimate e = from_fit(copy, w);
    e.extrapolated = true;
    return e;
  }
  return from_fit(nullptr, w);
}

std::string CalibratedCostModel::provenance() const {
  std::string gpu = "unknown GPU";
  auto it = profile_.provenance.find("gpu_name");
  if (it != profile_.provenance.end() && it->is_string()) gpu = it->get<std::string>();
  std::string line = source_ + " (" + gpu;
  auto d = profile_.provenance.find("date");
  if (d != profile_.provenance.end() && d->is_string()) line += ", measured " + d->get<std::string>();
  return line + "; datasheet roofline outside the profile, flagged as extrapolated)";
}

std::optional<AlphaBeta> CalibratedCostModel::collective(const std::string& op, int ranks, const std::string& algorithm,
                                                         const std::string& protocol) const {
  const CollectiveFit* c = profile_.find_collective(op, ranks, algorithm, protocol);
  if (!c) return std::nullopt;
  return AlphaBeta{c->alpha_s, c->beta_Bps, c->min_bytes, c->max_bytes};
}

std::optional<Estimate> CalibratedCostModel::collective_time(const std::string& op, int ranks, double bytes,
                                                             const std::string& algorithm,
                                                             const std::string& protocol) const {
  const CollectiveFit* c = profile_.find_collective(op, ranks, algorithm, protocol);
  if (!c) return std::nullopt;
  Estimate e;
  e.source = source_;
  e.seconds = collective_seconds(*c, bytes, &e.extrapolated);
  return e;
}

}  // namespace foresight::hw
