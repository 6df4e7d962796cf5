#pragma once
// Raw measurements -> profile: groups points into kernel families and collectives, fits each, and
// measures each fit's k-fold held-out error.
#include <string>

#include "calibrate/fit/raw.hpp"
#include "hwmodels/profile.hpp"

namespace foresight::calibrate {

struct FitOptions {
  std::string name = "profile";
  int folds = 5;
  unsigned seed = 20260401;
  int max_knots = 12;
};

// Cache-hot measurements are kept in the profile's raw points but not fitted: the simulator's kernels
// run with cold L2 in steady-state training, and mixing both would blur the curve.
hw::Profile fit_profile(const RawFile& raw, const FitOptions& opt);

// Combines per-fit errors into one per op kind (points-weighted mean, worst case kept).
void summarize_held_out(hw::Profile& p);

// One line per fit and per op kind, for `foresight-calibrate fit` and `show`.
std::string held_out_table(const hw::Profile& p);

}  // namespace foresight::calibrate
