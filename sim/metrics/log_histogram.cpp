#include "sim/metrics/log_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace foresight::sim {

void LogHistogram::add(double v) {
  if (!(v >= 0) || !std::isfinite(v)) v = 0;  // callers pass durations; a NaN would poison the sums
  const size_t b = v <= kLowest ? 0 : static_cast<size_t>(std::log(v / kLowest) / std::log(kGrowth)) + 1;
  if (buckets_.size() <= b) buckets_.resize(b + 1, 0);
  ++buckets_[b];
  if (count_ == 0) min_ = max_ = v;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
  sum_ += v;
  ++count_;
}

double LogHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * double(count_))));
  int64_t seen = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      if (b == 0) return min_;
      const double lo = kLowest * std::pow(kGrowth, double(b - 1)), hi = lo * kGrowth;
      return std::clamp(0.5 * (lo + hi), min_, max_);
    }
  }
  return max_;
}

nlohmann::json LogHistogram::summary(double scale) const {
  return {{"mean", mean() * scale},       {"p50", quantile(0.5) * scale},   {"p90", quantile(0.9) * scale},
          {"p99", quantile(0.99) * scale}, {"p999", quantile(0.999) * scale}, {"count", count_}};
}

}  // namespace foresight::sim
