#include "hwmodels/cost/calibrated_cost_model.hpp"

#include <algorithm>
#include <stdexcept>

#include "hwmodels/cost/kernel_work.hpp"
#include "hwmodels/cost/table_lookup.hpp"

namespace foresight::hw {

CalibratedCostModel::CalibratedCostModel(Profile profile, double peak_flops, double memory_bandwidth)
    : profile_(std::make_shared<const Profile>(std::move(profile))), peak_flops_(peak_flops),
      memory_bandwidth_(memory_bandwidth), source_("profile:" + profile_->name) {
  tables_ = std::make_unique<TableChooser>(*profile_);
  if (!(peak_flops_ > 0) || !(memory_bandwidth_ > 0))
    throw std::invalid_argument("CalibratedCostModel needs positive fallback peak FLOP/s and memory bandwidth");
}

CalibratedCostModel::CalibratedCostModel(std::shared_ptr<const Profile> profile, const GpuSpec& gpu)
    : profile_(std::move(profile)), gpu_(gpu), roofline_(std::make_unique<RooflineCostModel>(gpu)),
      peak_flops_(gpu.peak_flops("bf16")), memory_bandwidth_(gpu.memory_bandwidth),
      source_("profile:" + profile_->name), tables_(std::make_unique<TableChooser>(*profile_)) {}

CalibratedCostModel::CalibratedCostModel(Profile profile, const GpuSpec& gpu)
    : CalibratedCostModel(std::make_shared<const Profile>(std::move(profile)), gpu) {}

double CalibratedCostModel::fallback_peak(const std::string& dtype) const {
  if (!gpu_) return peak_flops_;
  const std::string d = canonical_dtype(dtype);
  auto it = gpu_->dense_flops.find(d == "fp16" ? "bf16" : d);  // fp16 and bf16 share tensor-core rates
  return it != gpu_->dense_flops.end() && it->second > 0 ? it->second : peak_flops_;
}

Estimate CalibratedCostModel::counted(Estimate e, std::atomic<long>& bucket) const {
  bucket.fetch_add(1, std::memory_order_relaxed);
  return e;
}

Estimate CalibratedCostModel::fallback(Estimate roof) const {
  roof.source = "roofline";
  roof.extrapolated = true;
  return counted(roof, n_roofline_);
}

Estimate CalibratedCostModel::from_fit(const ComputeFit* fit, const KernelWork& w, const std::string& dtype) const {
  Estimate e;
  e.source = source_;
  if (fit) {
    const Prediction p = predict(*fit, w);
    e.seconds = p.seconds;
    e.extrapolated = p.extrapolated;
    return counted(e, p.extrapolated ? n_fit_outside_ : n_fit_);
  }
  // No kernel family measured for this query: the datasheet roofline, flagged.
  e.seconds = std::max(w.flops / fallback_peak(dtype), w.bytes / memory_bandwidth_);
  return fallback(e);
}

Estimate CalibratedCostModel::gemm(const GemmQuery& q) const {
  if (auto t = table_gemm(*tables_, q))
    return counted({t->seconds, source_, t->outside}, t->outside ? n_table_outside_ : n_table_);
  const ComputeFit* fit = profile_->find_compute("gemm", q.dtype);
  if (!fit && roofline_) return fallback(roofline_->gemm(q));
  return from_fit(fit, gemm_work(q.m, q.n, q.k, q.batch, q.dtype), q.dtype);
}

std::optional<Estimate> CalibratedCostModel::routed_experts(const RoutedExpertsQuery& q) const {
  auto t = table_routed_experts(*tables_, q);
  if (!t) return std::nullopt;
  return counted({t->seconds, source_, t->outside}, t->outside ? n_table_outside_ : n_table_);
}

Estimate CalibratedCostModel::attention(const AttentionQuery& q) const {
  if (auto t = table_attention(*tables_, q))
    return counted({t->seconds, source_, t->outside}, t->outside ? n_table_outside_ : n_table_);
  // Single-token queries against a KV cache are what the decode kernel was measured on.
  if (q.seq_q == 1 && !q.backward) {
    if (const ComputeFit* f = profile_->find_compute("decode_attention", q.dtype))
      return from_fit(f, decode_attention_work(q.batch, q.heads, q.kv_heads, q.head_dim, q.seq_kv, q.dtype), q.dtype);
  }
  const ComputeFit* fit = profile_->find_compute("attention", q.dtype, q.backward ? "backward" : "forward");
  if (q.backward && (!fit || is_reference_backend(fit->backend))) {
    // A library's measured forward kernel (cuDNN SDPA on our own H200 run) scaled by the backward's
    // 2.5x FLOPs says more about a framework's backward than our SIMT reference kernel's backward
    // (13.7 vs ~600 TFLOP/s forward there); flagged, like the table rule below.
    const ComputeFit* fwd_fit = profile_->find_compute("attention", q.dtype, "forward");
    if (fwd_fit && !is_reference_backend(fwd_fit->backend)) {
      AttentionQuery fwd = q;
      fwd.backward = false;
      Estimate e = from_fit(fwd_fit, attention_work(q.batch, q.seq_q, q.seq_kv, q.heads, q.kv_heads, q.head_dim,
                                                    q.causal, false, q.dtype), q.dtype);
      e.seconds *= attention_flops(q) / attention_flops(fwd);
      e.extrapolated = true;
      return e;
    }
  }
  if (!fit && q.backward) {
    // Tables measure the forward kernel only. The backward pass does 2.5x its FLOPs (cost_model.cpp)
    // in kernels of similar structure: price it as the measured forward times that ratio, flagged.
    AttentionQuery fwd = q;
    fwd.backward = false;
    if (auto t = table_attention(*tables_, fwd))
      return counted({t->seconds * attention_flops(q) / attention_flops(fwd), source_, true}, n_table_outside_);
  }
  if (!fit && roofline_) return fallback(roofline_->attention(q));
  const KernelWork w = attention_work(q.batch, q.seq_q, q.seq_kv, q.heads, q.kv_heads, q.head_dim, q.causal,
                                      q.backward, q.dtype);
  return from_fit(fit, w, q.dtype);
}

Estimate CalibratedCostModel::decode_attention(const DecodeAttentionQuery& q) const {
  if (auto t = table_decode_attention(*tables_, q))
    return counted({t->seconds, source_, t->outside}, t->outside ? n_table_outside_ : n_table_);
  if (!profile_->find_compute("decode_attention", q.dtype) && roofline_) return fallback(roofline_->decode_attention(q));
  return ComputeCostModel::decode_attention(q);
}

Estimate CalibratedCostModel::memory_op(const MemoryOpQuery& q) const {
  KernelWork w;
  w.bytes = q.bytes;
  w.flops = q.flops;
  // MemoryOpQuery carries no dtype: the op was fitted on bytes moved, whatever the element type.
  if (const ComputeFit* f = profile_->find_compute(q.op, "")) return from_fit(f, w, "bf16");
  // An op the sweep did not cover (e.g. the optimizer step) streams memory like copy does; use the
  // measured copy curve, but say that it is a stand-in.
  if (const ComputeFit* copy = profile_->find_compute("copy", "")) {
    Estimate e = from_fit(copy, w, "bf16");
    e.extrapolated = true;
    return e;
  }
  if (roofline_) return fallback(roofline_->memory_op(q));
  return from_fit(nullptr, w, "bf16");
}

CostUsage CalibratedCostModel::usage() const {
  CostUsage u;
  u.table = n_table_.load(), u.table_outside = n_table_outside_.load();
  u.fit = n_fit_.load(), u.fit_outside = n_fit_outside_.load(), u.roofline = n_roofline_.load();
  return u;
}

std::string CalibratedCostModel::provenance() const {
  auto field = [&](const char* k) {
    auto it = profile_->provenance.find(k);
    return it != profile_->provenance.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string gpu = field("gpu_name").empty() ? field("gpu") : field("gpu_name");
  std::string line = source_ + " (" + (gpu.empty() ? "unknown GPU" : gpu);
  if (!field("source").empty()) line += "; " + field("source");
  if (!field("framework").empty()) line += ", " + field("framework") + " " + field("framework_version") + " kernels";
  if (!field("date").empty()) line += ", measured " + field("date");
  return line + "; roofline where the profile has no measurement, flagged as extrapolated)";
}

}  // namespace foresight::hw
