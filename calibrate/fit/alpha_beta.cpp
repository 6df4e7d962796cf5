#include "calibrate/fit/alpha_beta.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "calibrate/fit/kfold.hpp"

namespace foresight::calibrate {

namespace {

// Beyond this the line is flat for every practical size; keeps beta finite when the data show no
// bandwidth term at all (e.g. a sweep of latency-bound sizes only).
constexpr double kMinInverseBeta = 1e-18;

std::vector<std::pair<double, double>> median_table(const std::vector<SizedTime>& pts, int* adjustments) {
  std::map<double, std::vector<double>> by_size;
  for (const auto& p : pts) by_size[p.bytes].push_back(p.seconds);
  std::vector<std::pair<double, double>> table;
  for (auto& [bytes, ts] : by_size) {
    std::sort(ts.begin(), ts.end());
    const size_t m = ts.size();
    table.push_back({bytes, m % 2 ? ts[m / 2] : 0.5 * (ts[m / 2 - 1] + ts[m / 2])});
  }
  // Timing noise can make a larger message look faster; a cost model must not reward more bytes.
  int adj = 0;
  for (size_t i = 1; i < table.size(); ++i) {
    if (table[i].second < table[i - 1].second) {
      table[i].second = table[i - 1].second;
      ++adj;
    }
  }
  if (adjustments) *adjustments = adj;
  return table;
}

}  // namespace

AlphaBeta fit_alpha_beta(const std::vector<SizedTime>& points) {
  if (points.empty()) throw std::invalid_argument("alpha-beta fit needs at least one point");
  // Normal equations of the weighted problem, weights 1/t^2, unknowns alpha and g = 1/beta.
  double sw = 0, swb = 0, swbb = 0, swt = 0, swbt = 0;
  for (const auto& p : points) {
    if (!(p.bytes > 0 && p.seconds > 0)) throw std::invalid_argument("alpha-beta fit needs positive sizes and times");
    const double w = 1.0 / (p.seconds * p.seconds);
    sw += w;
    swb += w * p.bytes;
    swbb += w * p.bytes * p.bytes;
    swt += w * p.seconds;
    swbt += w * p.bytes * p.seconds;
  }
  const double det = sw * swbb - swb * swb;
  double alpha = 0, g = 0;
  if (det > 1e-12 * sw * swbb) {
    alpha = (swbb * swt - swb * swbt) / det;
    g = (sw * swbt - swb * swt) / det;
  } else {
    alpha = -1;  // one distinct size: the split between latency and bandwidth is not identifiable
  }
  if (alpha < 0) {  // constrained optimum on the alpha = 0 edge
    alpha = 0;
    g = swbt / swbb;
  }
  if (g < kMinInverseBeta) {  // constrained optimum on the flat edge
    g = kMinInverseBeta;
    alpha = std::max(0.0, (swt - g * swb) / sw);
  }
  return {alpha, 1.0 / g};
}

hw::CollectiveFit fit_collective(const std::string& op, int ranks, const std::string& algorithm,
                                 const std::string& protocol, const std::vector<SizedTime>& points, int folds,
                                 unsigned seed) {
  if (points.empty()) throw std::invalid_argument("no points for " + op);
  hw::CollectiveFit c;
  c.op = op;
  c.ranks = ranks;
  c.algorithm = algorithm;
  c.protocol = protocol;
  c.points = static_cast<int>(points.size());
  const AlphaBeta ab = fit_alpha_beta(points);
  c.alpha_s = ab.alpha_s;
  c.beta_Bps = ab.beta_Bps;
  c.min_bytes = c.max_bytes = points.front().bytes;
  for (const auto& p : points) {
    c.min_bytes = std::min(c.min_bytes, p.bytes);
    c.max_bytes = std::max(c.max_bytes, p.bytes);
  }
  c.table = median_table(points, &c.monotonicity_adjustments);

  std::vector<double> measured;
  std::vector<bool> large;
  std::vector<size_t> size_group;  // in-place and out-of-place timings of one size are held out together
  for (const auto& p : points) {
    measured.push_back(p.seconds);
    large.push_back(p.bytes >= kLargeMessage);
    size_group.push_back(static_cast<size_t>(std::lower_bound(c.table.begin(), c.table.end(), std::make_pair(p.bytes, 0.0)) -
                                             c.table.begin()));
  }
  auto subset = [&](const std::vector<size_t>& idx) {
    std::vector<SizedTime> s;
    for (size_t i : idx) s.push_back(points[i]);
    return s;
  };
  const FitPredict line = [&](const std::vector<size_t>& train, const std::vector<size_t>& test) {
    const AlphaBeta f = fit_alpha_beta(subset(train));
    double lo = 1e300, hi = 0;
    for (size_t i : train) { lo = std::min(lo, points[i].bytes); hi = std::max(hi, points[i].bytes); }
    std::vector<HeldOutPrediction> out;
    for (size_t i : test)
      out.push_back({f.alpha_s + points[i].bytes / f.beta_Bps, points[i].bytes < lo || points[i].bytes > hi});
    return out;
  };
  const FitPredict table = [&](const std::vector<size_t>& train, const std::vector<size_t>& test) {
    const std::vector<SizedTime> s = subset(train);
    hw::CollectiveFit f;
    const AlphaBeta l = fit_alpha_beta(s);
    f.alpha_s = l.alpha_s;
    f.beta_Bps = l.beta_Bps;
    f.table = median_table(s, nullptr);
    f.use_table = true;
    std::vector<HeldOutPrediction> out;
    for (size_t i : test) {
      bool ext = false;
      const double t = hw::collective_seconds(f, points[i].bytes, &ext);
      out.push_back({t, ext});
    }
    return out;
  };
  c.held_out = kfold_error(measured, folds, seed, line, {}, 2, size_group);
  c.held_out_large = kfold_error(measured, folds, seed, line, large, 2, size_group);
  c.table_held_out_large = kfold_error(measured, folds, seed, table, large, 2, size_group);
  // Model selection on held-out error: the table only where it beat the line on sizes it never saw.
  c.use_table = c.table.size() >= 2 && c.table_held_out_large.available() &&
                (!c.held_out_large.available() || c.table_held_out_large.mape < c.held_out_large.mape);
  return c;
}

}  // namespace foresight::calibrate
