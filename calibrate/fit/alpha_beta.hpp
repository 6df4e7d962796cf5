#pragma once
// Collective cost fits: t = alpha + bytes / beta per (op, ranks, algorithm, protocol).
#include <string>
#include <vector>

#include "hwmodels/profile.hpp"

namespace foresight::calibrate {

struct SizedTime {
  double bytes = 0;
  double seconds = 0;
};

struct AlphaBeta {
  double alpha_s = 0;
  double beta_Bps = 0;
};

// Least squares in relative error, sum(((alpha + bytes/beta) - t) / t)^2: a sweep spans 1 KiB to
// 8 GiB, and absolute least squares would let the largest sizes decide everything and leave small
// messages with arbitrary error. Constrained to alpha >= 0 and beta > 0.
AlphaBeta fit_alpha_beta(const std::vector<SizedTime>& points);

inline constexpr double kLargeMessage = 1024.0 * 1024.0;  // held-out error is also reported >= 1 MiB

// Fits the line and the measured table, and measures both by k-fold cross-validation.
// Throws std::invalid_argument when there are no points.
hw::CollectiveFit fit_collective(const std::string& op, int ranks, const std::string& algorithm,
                                 const std::string& protocol, const std::vector<SizedTime>& points, int folds,
                                 unsigned seed);

}  // namespace foresight::calibrate
