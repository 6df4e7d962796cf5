#include "sim/goodput/failure_process.hpp"

#include <cmath>
#include <limits>

namespace foresight::sim {

FailureProcess::FailureProcess(std::vector<Cause> causes, uint64_t seed) : causes_(std::move(causes)), rng_(seed) {
  for (size_t i = 0; i < causes_.size(); ++i) {
    const Cause& c = causes_[i];
    if (c.spec.rate <= 0 || c.units <= 0) continue;
    if (c.spec.distribution == "weibull") {
      for (int u = 0; u < c.units; ++u) weibull_.push({weibull_life(c.spec), static_cast<int>(i)});
    } else {
      exp_rate_ += c.spec.rate * c.units;
      exp_weights_.push_back(exp_rate_);
      exp_index_.push_back(static_cast<int>(i));
    }
  }
  next_exp_ = exp_rate_ > 0 ? exponential(exp_rate_) : std::numeric_limits<double>::infinity();
}

double FailureProcess::uniform() {
  // 53 random bits, never 0: logs below stay finite.
  return (double((rng_() >> 11) + 1)) * (1.0 / 9007199254740992.0);
}

double FailureProcess::exponential(double rate) { return -std::log(uniform()) / rate; }

// Scale chosen so the mean life is 1 / rate: mean = lambda * Gamma(1 + 1/k).
double FailureProcess::weibull_life(const FailureCause& c) {
  const double k = c.weibull_shape;
  const double lambda = 1.0 / (c.rate * std::tgamma(1.0 + 1.0 / k));
  return lambda * std::pow(-std::log(uniform()), 1.0 / k);
}

FailureProcess::Failure FailureProcess::next() {
  const double w = weibull_.empty() ? std::numeric_limits<double>::infinity() : weibull_.top().time;
  if (!std::isfinite(next_exp_) && !std::isfinite(w)) return {std::numeric_limits<double>::infinity(), -1};
  if (next_exp_ <= w) {
    const double t = next_exp_;
    const double pick = uniform() * exp_rate_;
    size_t j = 0;
    while (j + 1 < exp_weights_.size() && exp_weights_[j] < pick) ++j;
    next_exp_ = t + exponential(exp_rate_);
    return {t, exp_index_[j]};
  }
  const UnitClock u = weibull_.top();
  weibull_.pop();
  weibull_.push({u.time + weibull_life(causes_[static_cast<size_t>(u.cause)].spec), u.cause});  // replaced: a new unit
  return {u.time, u.cause};
}

double FailureProcess::job_rate() const {
  double r = 0;
  for (const auto& c : causes_) r += c.spec.rate * c.units;
  return r;
}

}  // namespace foresight::sim
