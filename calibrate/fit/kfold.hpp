#pragma once
// k-fold cross-validation: every point is predicted exactly once by a model fitted without it.
#include <functional>
#include <vector>

#include "hwmodels/profile.hpp"

namespace foresight::calibrate {

// Fold of each point: a seeded Fisher-Yates permutation (Boost.Random, so the same on every
// platform) dealt round-robin into k folds, so fold sizes differ by at most one.
std::vector<int> fold_assignment(size_t n, int k, unsigned seed);

struct HeldOutPrediction {
  double seconds = 0;
  bool extrapolated = false;
};

// fit_predict(train, test) fits on `train` only and returns one prediction per `test` index.
using FitPredict = std::function<std::vector<HeldOutPrediction>(const std::vector<size_t>& train,
                                                                 const std::vector<size_t>& test)>;

// Held-out error over `measured`; `include` (optional) restricts which points count towards the
// error (e.g. messages >= 1 MiB) while all points still take part in fitting. `groups` (optional)
// keeps points with the same label in the same fold: repeated measurements of one shape or size
// must be held out together, or the "held-out" point's twin sits in the training set. With fewer
// than `min_train` training points in some fold, k is raised towards leave-one-group-out; if even
// that cannot be met no error is available (points = 0).
hw::HeldOutError kfold_error(const std::vector<double>& measured, int k, unsigned seed, const FitPredict& fit_predict,
                             const std::vector<bool>& include = {}, size_t min_train = 2,
                             const std::vector<size_t>& groups = {});

}  // namespace foresight::calibrate
