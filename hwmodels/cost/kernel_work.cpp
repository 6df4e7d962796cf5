#include "hwmodels/cost/kernel_work.hpp"

#include <algorithm>
#include <cmath>

#include "hwmodels/cost/cost_model.hpp"

namespace foresight::hw {

KernelWork gemm_work(int64_t m, int64_t n, int64_t k, int64_t batch, const std::string& dtype) {
  KernelWork w;
  const double M = double(m), N = double(n), K = double(k), B = double(batch), s = dtype_size(dtype);
  w.flops = 2.0 * M * N * K * B;
  // fp8 GEMMs write bf16 outputs in practice; count the output at 2 bytes when inputs are narrower.
  w.bytes = B * ((M * K + K * N) * s + M * N * std::max(s, 2.0));
  w.rows = M;
  w.cols = N;
  w.groups = B;
  return w;
}

KernelWork attention_work(int64_t batch, int64_t seq_q, int64_t seq_kv, int64_t heads, int64_t kv_heads,
                          int64_t head_dim, bool causal, bool backward, const std::string& dtype) {
  KernelWork w;
  const double b = double(batch), sq = double(seq_q), skv = double(seq_kv), h = double(heads),
               kvh = double(kv_heads > 0 ? kv_heads : heads), d = double(head_dim), s = dtype_size(dtype);
  // One FLOP convention for planners, fitter and calibrated model (cost_model.hpp).
  w.flops = attention_flops(AttentionQuery{batch, seq_q, seq_kv, heads, kv_heads, head_dim, causal, backward, dtype});
  const double q_o = 2.0 * b * sq * h * d * s, k_v = 2.0 * b * skv * kvh * d * s;
  // Backward reads Q,K,V,O,dO and writes dQ,dK,dV: about twice the forward traffic.
  w.bytes = backward ? 2.0 * (q_o + k_v) : q_o + k_v;
  w.rows = sq;
  w.cols = 1;
  w.groups = b * h;
  w.cols_tiled = false;
  return w;
}

KernelWork decode_attention_work(int64_t batch, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                 int64_t context_len, const std::string& dtype) {
  KernelWork w;
  const double b = double(batch), h = double(heads), kvh = double(kv_heads > 0 ? kv_heads : heads),
               d = double(head_dim), ctx = double(context_len), s = dtype_size(dtype);
  w.flops = 4.0 * b * h * ctx * d;
  w.bytes = 2.0 * b * ctx * kvh * d * s + 2.0 * b * h * d * s;  // the KV cache dominates
  w.rows = 1;
  w.cols = 1;
  w.groups = b * h;
  return w;
}

double padded_flops(const KernelWork& w, int tile, int sm_count) {
  if (tile <= 0 || sm_count <= 0 || w.rows <= 0 || w.cols <= 0) return w.flops;
  const double t = double(tile);
  const double col_tiles = w.cols_tiled ? std::ceil(w.cols / t) : 1.0;
  const double col_exact = w.cols_tiled ? w.cols / t : 1.0;
  const double tiles = std::ceil(w.rows / t) * col_tiles * w.groups;
  const double exact = (w.rows / t) * col_exact * w.groups;
  const double waves = std::ceil(tiles / double(sm_count));
  return w.flops * waves * double(sm_count) / exact;
}

double roofline_seconds(const KernelWork& w, double peak_flops, double peak_bandwidth, int tile, int sm_count) {
  double t = 0;
  if (peak_flops > 0) t = std::max(t, padded_flops(w, tile, sm_count) / peak_flops);
  if (peak_bandwidth > 0) t = std::max(t, w.bytes / peak_bandwidth);
  return t;
}

double interpolate(const std::vector<std::pair<double, double>>& knots, double x) {
  if (knots.empty()) return 0;
  if (x <= knots.front().first) return knots.front().second;
  if (x >= knots.back().first) return knots.back().second;
  auto hi = std::upper_bound(knots.begin(), knots.end(), x,
                             [](double v, const std::pair<double, double>& k) { return v < k.first; });
  auto lo = hi - 1;
  const double f = (x - lo->first) / (hi->first - lo->first);
  return lo->second + f * (hi->second - lo->second);
}

double log_efficiency(const std::vector<std::pair<double, double>>& knots, double x) {
  if (knots.size() >= 2 && x < knots.front().first) {
    // Below the smallest kernel measured, fixed costs (launch, prologue) dominate more and more: keep
    // the first segment's trend, with its slope clamped to [0, 1] so time still never increases as
    // work shrinks and never drops faster than the roofline does.
    const auto& a = knots[0];
    const auto& b = knots[1];
    const double slope = std::clamp((b.second - a.second) / (b.first - a.first), 0.0, 1.0);
    return a.second + slope * (x - a.first);
  }
  // Above the largest, efficiency is held at its last measured value: the fitted roofline.
  return interpolate(knots, x);
}

Prediction predict(const ComputeFit& fit, const KernelWork& w) {
  Prediction p;
  const double r = roofline_seconds(w, fit.peak_flops, fit.peak_bandwidth, fit.tile, fit.sm_count);
  if (!(r > 0)) {
    p.seconds = 0;
    p.extrapolated = true;
    return p;
  }
  const double x = std::log(r);
  const double slack = kRangeSlack * std::max(1.0, std::fabs(x));
  if (x < fit.min_log_r - slack || x > fit.max_log_r + slack) p.extrapolated = true;
  if (fit.intensity_checked) {
    if (w.flops > 0 && w.bytes > 0) {
      const double ai = std::log(w.flops / w.bytes);
      const double s = kRangeSlack * std::max(1.0, std::fabs(ai));
      if (ai < fit.min_log_intensity - s || ai > fit.max_log_intensity + s) p.extrapolated = true;
    } else {
      p.extrapolated = true;
    }
  }
  p.seconds = r / std::exp(log_efficiency(fit.knots, x));
  return p;
}

}  // namespace foresight::hw
