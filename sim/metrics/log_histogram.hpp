#pragma once
// A histogram of positive values in logarithmic buckets, 0.1 % wide: quantiles within 0.1 % of the
// exact order statistic whatever the count, in constant memory, so a run's percentiles do not need
// every sample kept. Counts, sums, minimum and maximum are exact.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace foresight::sim {

class LogHistogram {
 public:
  void add(double v);
  int64_t count() const { return count_; }
  double mean() const { return count_ ? sum_ / double(count_) : 0.0; }
  double sum() const { return sum_; }
  double min() const { return count_ ? min_ : 0.0; }
  double max() const { return count_ ? max_ : 0.0; }
  // The q-th quantile (0..1): the nearest-rank sample's bucket, reported at its midpoint and
  // clamped to [min, max].
  double quantile(double q) const;
  // {"mean", "p50", "p90", "p99", "p999"} scaled by `scale` (e.g. 1e3 for milliseconds).
  nlohmann::json summary(double scale = 1.0) const;

 private:
  static constexpr double kLowest = 1e-9;     // smaller values (and zeros) share the first bucket
  static constexpr double kGrowth = 1.001;
  std::vector<int64_t> buckets_;
  int64_t count_ = 0;
  double sum_ = 0, min_ = 0, max_ = 0;
};

}  // namespace foresight::sim
