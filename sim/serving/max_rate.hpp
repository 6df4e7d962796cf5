#pragma once
// The highest arrival rate at which a serving configuration still meets its SLO for a target
// fraction of requests (Vidur-Search's question): bracket the rate by doubling or halving from the
// scenario's rate, then bisect until the bracket is within 2 %. Each probe is a full simulation.
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/run/session.hpp"
#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

struct RateProbe {
  double rate = 0, attainment = 0, goodput = 0;
};

struct MaxRateResult {
  double rate = 0;             // highest rate found meeting the target (0 if even the lowest probe failed)
  double attainment = 0;       // at that rate
  double target = 0;
  std::vector<RateProbe> probes;
  nlohmann::json to_json() const;
};

// Open-loop arrivals (poisson, gamma, constant) only; InputError otherwise.
MaxRateResult search_max_rate(Session& session, const ServingSpec& spec, double target_attainment);

}  // namespace foresight::sim
