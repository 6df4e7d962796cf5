#pragma once
// Fitting of compute kernels (GEMM, attention, decode attention, memory-bound ops) into
// hw::ComputeFit: roofline with measured peaks and wave quantization, times an efficiency curve.
#include <string>
#include <vector>

#include "calibrate/fit/raw.hpp"
#include "hwmodels/profile.hpp"

namespace foresight::calibrate {

struct Curve {
  std::vector<std::pair<double, double>> knots;
  int monotonicity_adjustments = 0;
};

// Least-squares linear spline through (x, y) with knots at quantiles of x (at most max_knots, and at
// most one per 2 points so every segment is pinned down by data), lightly smoothed by a
// second-difference penalty so a knot interval without points stays well-defined. Segments are then
// capped at slope `max_slope` from left to right (each cap counts as an adjustment).
Curve fit_curve(const std::vector<double>& x, const std::vector<double>& y, int max_knots, double max_slope);

struct ComputeGroupOptions {
  int max_knots = 12;
  int sm_count = 0;               // from the raw file's provenance; 0 disables wave quantization
  double memory_bandwidth = 0;    // measured HBM bandwidth for compute ops' memory term; 0 = none
  std::vector<int> tiles = {0, 64, 128, 256};  // wave-quantization tile edges to choose among
};

// Fits one kernel family on the given points (all of the same op/backend/dtype/direction). The tile
// is chosen by the lowest in-sample RMS log error; a tile can only help where the data show steps.
hw::ComputeFit fit_compute_group(const std::vector<const RawMeasurement*>& points, const ComputeGroupOptions& opt);

}  // namespace foresight::calibrate
