#include "hwmodels/cost/calibrated_cost_model.hpp"

#include <algorithm>
#include <stdexcept>

#include "hwmodels/cost/kernel_work.hpp"

namespace foresight::hw {

CalibratedCostModel::CalibratedCostModel(Profile profile, double peak_flops, double memory_bandwidth)
    : profile_(std::move(profile)), peak_flops_(peak_flops), memory_bandwidth_(memory_bandwidth),
      source_("profile:" + profile_.name) {
  if (!(peak_flops_ > 0) || !(memory_bandwidth_ > 0))
    throw std::invalid_argument("CalibratedCostModel needs positive fallback peak FLOP/s and memory bandwidth");
}

CalibratedCostModel::CalibratedCostModel(Profile profile, const GpuSpec& gpu)
    : CalibratedCostModel(std::move(profile), gpu.peak_flops("bf16"), gpu.memory_bandwidth) {
  gpu_ = gpu;
}

double CalibratedCostModel::fallback_peak(const std::string& dtype) const {
  if (!gpu_) return peak_flops_;
  const std::string d = canonical_dtype(dtype);
  auto it = gpu_->dense_flops.find(d == "fp16" ? "bf16" : d);  // fp16 and bf16 share tensor-core rates
  return it != gpu_->dense_flops.end() && it->second > 0 ? it->second : peak_flops_;
}

Estimate CalibratedCostModel::from_fit(const ComputeFit* fit, const KernelWork& w, const std::string& dtype) const {
  Estimate e;
  e.source = source_;
  if (fit) {
    const Prediction p = predict(*fit, w);
    e.seconds = p.seconds;
    e.extrapolated = p.extrapolated;
    return e;
  }
  // No kernel family measured for this query: the datasheet roofline, flagged.
  e.seconds = std::max(w.flops / fallback_peak(dtype), w.bytes / memory_bandwidth_);
  e.extrapolated = true;
  return e;
}

Estimate CalibratedCostModel::gemm(const GemmQuery& q) const {
  const KernelWork w = gemm_work(q.m, q.n, q.k, q.batch, q.dtype);
  return from_fit(profile_.find_compute("gemm", q.dtype), w, q.dtype);
}

Estimate CalibratedCostModel::attention(const AttentionQuery& q) const {
  // Single-token queries against a KV cache are what the decode kernel was measured on.
  if (q.seq_q == 1 && !q.backward) {
    if (const ComputeFit* f = profile_.find_compute("decode_attention", q.dtype))
      return from_fit(f, decode_attention_work(q.batch, q.heads, q.kv_heads, q.head_dim, q.seq_kv, q.dtype), q.dtype);
  }
  const KernelWork w = attention_work(q.batch, q.seq_q, q.seq_kv, q.heads, q.kv_heads, q.head_dim, q.causal,
                                      q.backward, q.dtype);
  return from_fit(profile_.find_compute("attention", q.dtype, q.backward ? "backward" : "forward"), w, q.dtype);
}

Estimate CalibratedCostModel::memory_op(const MemoryOpQuery& q) const {
  KernelWork w;
  w.bytes = q.bytes;
  w.flops = q.flops;
  // MemoryOpQuery carries no dtype: the op was fitted on bytes moved, whatever the element type.
  if (const ComputeFit* f = profile_.find_compute(q.op, "")) return from_fit(f, w, "bf16");
  // An op the sweep did not cover (e.g. the optimizer step) streams memory like copy does; use the
  // measured copy curve, but say that it is a stand-in.
  if (const ComputeFit* copy = profile_.find_compute("copy", "")) {
    Estimate e = from_fit(copy, w, "bf16");
    e.extrapolated = true;
    return e;
  }
  return from_fit(nullptr, w, "bf16");
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

}  // namespace foresight::hw
