#include "calibrate/fit/kfold.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/uniform_int_distribution.hpp>

namespace foresight::calibrate {

std::vector<int> fold_assignment(size_t n, int k, unsigned seed) {
  if (k < 2) throw std::invalid_argument("k-fold needs k >= 2");
  std::vector<size_t> perm(n);
  std::iota(perm.begin(), perm.end(), size_t{0});
  boost::random::mt19937 rng(seed);
  for (size_t i = n; i > 1; --i) {
    boost::random::uniform_int_distribution<size_t> pick(0, i - 1);
    std::swap(perm[i - 1], perm[pick(rng)]);
  }
  std::vector<int> fold(n);
  for (size_t pos = 0; pos < n; ++pos) fold[perm[pos]] = static_cast<int>(pos % size_t(k));
  return fold;
}

hw::HeldOutError kfold_error(const std::vector<double>& measured, int k, unsigned seed, const FitPredict& fit_predict,
                             const std::vector<bool>& include, size_t min_train, const std::vector<size_t>& groups) {
  hw::HeldOutError err;
  const size_t n = measured.size();
  if (!groups.empty() && groups.size() != n) throw std::logic_error("kfold_error: one group per point expected");
  std::map<size_t, size_t> ids;  // group label -> dense id
  std::vector<size_t> gid(n);
  for (size_t i = 0; i < n; ++i) gid[i] = ids.emplace(groups.empty() ? i : groups[i], ids.size()).first->second;
  const size_t G = ids.size();
  if (G < 2 || n < min_train + 1) return err;
  // More, smaller folds until every training set holds min_train points (leave-one-group-out at most).
  int folds = std::min<int>(std::max(k, 2), static_cast<int>(G));
  std::vector<int> fold(n);
  for (;;) {
    const std::vector<int> gf = fold_assignment(G, folds, seed);
    std::vector<size_t> size(size_t(folds), 0);
    for (size_t i = 0; i < n; ++i) ++size[size_t(fold[i] = gf[gid[i]])];
    if (n - *std::max_element(size.begin(), size.end()) >= min_train) break;
    if (folds >= static_cast<int>(G)) return err;
    ++folds;
  }
  double sum = 0, inside = 0;
  for (int f = 0; f < folds; ++f) {
    std::vector<size_t> train, test;
    for (size_t i = 0; i < n; ++i) (fold[i] == f ? test : train).push_back(i);
    if (test.empty()) continue;
    const std::vector<HeldOutPrediction> pred = fit_predict(train, test);
    if (pred.size() != test.size()) throw std::logic_error("kfold_error: one prediction per held-out point expected");
    for (size_t t = 0; t < test.size(); ++t) {
      const size_t i = test[t];
      if (!include.empty() && !include[i]) continue;
      const double ape = std::fabs(pred[t].seconds - measured[i]) / measured[i];
      sum += ape;
      err.max_ape = std::max(err.max_ape, ape);
      err.extrapolated += pred[t].extrapolated ? 1 : 0;
      ++err.points;
      if (!pred[t].extrapolated) {
        inside += ape;
        ++err.inside_points;
      }
    }
  }
  err.folds = folds;
  err.mape = err.points > 0 ? sum / err.points : 0;
  err.inside_mape = err.inside_points > 0 ? inside / err.inside_points : 0;
  return err;
}

}  // namespace foresight::calibrate
