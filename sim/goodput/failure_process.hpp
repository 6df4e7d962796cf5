#pragma once
// When the job's components fail: the superposition of every unit's failure process. Exponential
// causes (the default) are memoryless, so units x rate aggregate into one Poisson process per cause;
// Weibull causes keep each unit's own renewal clock (a failed unit is replaced by a new one), which
// is what infant mortality (shape < 1) or wear-out (shape > 1) need.
#include <cstdint>
#include <queue>
#include <random>
#include <vector>

#include "sim/goodput/goodput_spec.hpp"

namespace foresight::sim {

class FailureProcess {
 public:
  struct Cause {
    FailureCause spec;
    int units = 0;              // how many of its unit the job has
    int nodes_per_failure = 1;  // nodes the job must replace (a leaf switch takes down every node on it)
  };
  FailureProcess(std::vector<Cause> causes, uint64_t seed);

  struct Failure {
    double time = 0;
    int cause = -1;             // -1: none before infinity
  };
  // The first failure after the previous one (times increase; the process runs whatever the job does).
  Failure next();
  const std::vector<Cause>& causes() const { return causes_; }
  // Failures per second of the whole job (the mean rate; for Weibull units 1 / mean life).
  double job_rate() const;

 private:
  double uniform();             // (0, 1]
  double exponential(double rate);
  double weibull_life(const FailureCause& c);

  std::vector<Cause> causes_;
  std::mt19937_64 rng_;
  double exp_rate_ = 0;                 // summed over exponential causes
  std::vector<double> exp_weights_;     // cumulative, to pick the cause
  std::vector<int> exp_index_;
  double next_exp_ = 0;
  struct UnitClock {
    double time;
    int cause;
    bool operator>(const UnitClock& o) const { return time != o.time ? time > o.time : cause > o.cause; }
  };
  std::priority_queue<UnitClock, std::vector<UnitClock>, std::greater<UnitClock>> weibull_;
};

}  // namespace foresight::sim
