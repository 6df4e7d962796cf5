#include "hwmodels/kernel_table.hpp"

#include <algorithm>
#include <cmath>

namespace foresight::hw {
namespace {

// One axis's bracket: the two grid indices around a coordinate and the weight of the upper one,
// linear in log(coordinate) because kernel latency is close to a power law in each shape axis.
struct Bracket {
  size_t lo = 0, hi = 0;
  double w = 0;
};

// `skip`: an index of this axis treated as absent (held-out checks), or SIZE_MAX.
Bracket bracket(const std::vector<double>& v, double x, size_t skip, bool* outside) {
  if (skip == SIZE_MAX) {
    // The common case (no held-out line): a binary search, no allocation; it runs per query.
    Bracket b;
    if (x <= v.front() || v.size() == 1) {
      if (x < v.front() * (1 - 1e-12) || (v.size() == 1 && x > v.front() * (1 + 1e-12))) *outside = true;
      b.lo = b.hi = 0;
      return b;
    }
    if (x >= v.back()) {
      if (x > v.back() * (1 + 1e-12)) *outside = true;
      b.lo = b.hi = v.size() - 1;
      return b;
    }
    const size_t j = static_cast<size_t>(std::upper_bound(v.begin(), v.end(), x) - v.begin());
    b.lo = j - 1, b.hi = j;
    b.w = std::log(x / v[b.lo]) / std::log(v[b.hi] / v[b.lo]);
    return b;
  }
  std::vector<size_t> idx;
  idx.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    if (i != skip) idx.push_back(i);
  Bracket b;
  if (idx.empty()) return b;
  if (x <= v[idx.front()] || idx.size() == 1) {
    if (x < v[idx.front()] * (1 - 1e-12) || (idx.size() == 1 && x > v[idx.front()] * (1 + 1e-12))) *outside = true;
    b.lo = b.hi = idx.size() == 1 || x <= v[idx.front()] ? idx.front() : idx.back();
    return b;
  }
  if (x >= v[idx.back()]) {
    if (x > v[idx.back()] * (1 + 1e-12)) *outside = true;
    b.lo = b.hi = idx.back();
    return b;
  }
  size_t j = 1;
  while (v[idx[j]] < x) ++j;
  b.lo = idx[j - 1], b.hi = idx[j];
  b.w = std::log(x / v[b.lo]) / std::log(v[b.hi] / v[b.lo]);
  return b;
}

std::optional<double> interpolate(const KernelTable& t, const std::vector<double>& coords,
                                  const std::vector<size_t>& skip, bool* outside) {
  const size_t d = t.axes.size();
  if (coords.size() != d || t.seconds.empty()) return std::nullopt;
  bool out = false;
  Bracket br_small[4];
  std::vector<Bracket> br_big(d > 4 ? d : 0);
  Bracket* br = d > 4 ? br_big.data() : br_small;
  for (size_t a = 0; a < d; ++a) br[a] = bracket(t.values[a], coords[a], skip.empty() ? SIZE_MAX : skip[a], &out);
  if (outside) *outside = out;
  // Weighted mean of log latency over the 2^d corners that were measured; a missing corner's weight
  // goes to the others (the grids are dense, gaps are shapes the collector skipped).
  double sum = 0, weight = 0;
  for (size_t corner = 0; corner < (size_t{1} << d); ++corner) {
    double w = 1;
    size_t flat = 0;
    for (size_t a = 0; a < d; ++a) {
      const bool upper = (corner >> a) & 1;
      w *= upper ? br[a].w : 1 - br[a].w;
      flat = flat * t.values[a].size() + (upper ? br[a].hi : br[a].lo);
    }
    if (w <= 0) continue;
    const double s = t.seconds[flat];
    if (std::isnan(s)) continue;
    sum += w * std::log(s);
    weight += w;
  }
  if (weight < 1e-9) return std::nullopt;
  return std::exp(sum / weight);
}

}  // namespace

std::optional<double> KernelTable::lookup(const std::vector<double>& coords, bool* outside) const {
  return interpolate(*this, coords, {}, outside);
}

std::optional<double> KernelTable::lookup_without(const std::vector<double>& coords, size_t skip) const {
  // Held out: the cell's grid line along every axis is removed, so the point is predicted from its
  // neighbours one step away on each side (a grid half as dense as the one queries use).
  std::vector<size_t> skip_idx(axes.size());
  for (size_t a = axes.size(); a-- > 0;) {
    skip_idx[a] = skip % values[a].size();
    skip /= values[a].size();
  }
  bool outside = false;
  return interpolate(*this, coords, skip_idx, &outside);
}

HeldOutError table_held_out_error(const KernelTable& t, std::vector<double>* out) {
  HeldOutError e;
  std::vector<double> apes;
  const size_t d = t.axes.size();
  std::vector<size_t> idx(d);
  std::vector<double> coords(d);
  for (size_t flat = 0; flat < t.seconds.size(); ++flat) {
    size_t rest = flat;
    bool interior = true;
    for (size_t a = d; a-- > 0;) {
      idx[a] = rest % t.values[a].size();
      rest /= t.values[a].size();
      interior = interior && idx[a] > 0 && idx[a] + 1 < t.values[a].size();
      coords[a] = t.values[a][idx[a]];
    }
    if (!interior || std::isnan(t.seconds[flat])) continue;
    const auto pred = t.lookup_without(coords, flat);
    if (!pred) continue;
    apes.push_back(std::fabs(*pred - t.seconds[flat]) / t.seconds[flat]);
  }
  if (out) *out = apes;
  if (apes.empty()) return e;
  e.points = e.inside_points = static_cast<int>(apes.size());
  e.folds = 1;
  double sum = 0;
  for (double x : apes) sum += x, e.max_ape = std::max(e.max_ape, x);
  e.mape = e.inside_mape = sum / apes.size();
  std::nth_element(apes.begin(), apes.begin() + apes.size() / 2, apes.end());
  e.median_ape = apes[apes.size() / 2];
  return e;
}

}  // namespace foresight::hw
