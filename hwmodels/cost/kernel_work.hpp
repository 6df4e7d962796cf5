#pragma once
// The work a kernel does, computed from its shape, and how a fitted ComputeFit turns work into time.
// The fitter and CalibratedCostModel both go through these functions, so a profile is evaluated at
// query time exactly as it was when its held-out error was measured.
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "hwmodels/profile.hpp"

namespace foresight::hw {

struct KernelWork {
  double flops = 0;   // useful FLOPs (the shared conventions of cost_model.hpp)
  double bytes = 0;   // minimum HBM traffic: inputs read once, outputs written once
  // Wave quantization: the kernel launches a grid of CTAs, each covering tile x tile of
  // (rows, cols) -- or tile x whole row block when cols_tiled is false -- for each of `groups`.
  double rows = 0, cols = 0, groups = 1;
  bool cols_tiled = true;
};

KernelWork gemm_work(int64_t m, int64_t n, int64_t k, int64_t batch, const std::string& dtype);
KernelWork attention_work(int64_t batch, int64_t seq_q, int64_t seq_kv, int64_t heads, int64_t kv_heads,
                          int64_t head_dim, bool causal, bool backward, const std::string& dtype);
KernelWork decode_attention_work(int64_t batch, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                 int64_t context_len, const std::string& dtype);

// FLOPs inflated to whole waves of tiles: the time of a wave is the time of its slowest CTA, so a grid
// of 133 tiles on 132 SMs costs two waves. Returns flops unchanged when tile or sm_count is 0.
double padded_flops(const KernelWork& w, int tile, int sm_count);

double roofline_seconds(const KernelWork& w, double peak_flops, double peak_bandwidth, int tile, int sm_count);

// Piecewise-linear interpolation through knots, held constant beyond the end knots.
double interpolate(const std::vector<std::pair<double, double>>& knots, double x);

// The fitted curve including its extrapolation rule outside the knots (see kernel_work.cpp).
double log_efficiency(const std::vector<std::pair<double, double>>& knots, double x);

struct Prediction {
  double seconds = 0;
  bool extrapolated = false;  // outside the measured roofline-time or arithmetic-intensity range
};

Prediction predict(const ComputeFit& fit, const KernelWork& w);

// Relative slack on range checks: a query at exactly a measured shape must not count as outside
// because of floating-point noise in log().
inline constexpr double kRangeSlack = 1e-9;

}  // namespace foresight::hw
