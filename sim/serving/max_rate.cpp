#include "sim/serving/max_rate.hpp"

#include <cmath>

#include <fmt/format.h>

#include "core/error.hpp"
#include "sim/serving/serving_run.hpp"

namespace foresight::sim {

namespace {
constexpr double kTolerance = 0.02;  // bisect until hi/lo - 1 is below this
constexpr int kMaxProbes = 40;       // doubling from 1e-3/s to 1e7/s takes 34
}  // namespace

nlohmann::json MaxRateResult::to_json() const {
  nlohmann::json probes_json = nlohmann::json::array();
  for (const auto& p : probes)
    probes_json.push_back({{"rate_per_s", p.rate}, {"attainment", p.attainment}, {"goodput_per_s", p.goodput}});
  return {{"rate_per_s", rate}, {"attainment", attainment}, {"target_attainment", target}, {"probes", probes_json}};
}

MaxRateResult search_max_rate(Session& session, const ServingSpec& spec, double target) {
  const auto& kind = spec.workload.arrivals.kind;
  if (kind != "poisson" && kind != "gamma" && kind != "constant")
    throw InputError(spec.workload.arrivals.where, "serving.workload.arrivals",
                     fmt::format("a max-rate search varies the arrival rate; '{}' arrivals have none (use poisson, gamma or constant)", kind));
  if (!(target > 0 && target <= 1)) throw InputError(fmt::format("--max-rate: the attainment target must be in (0, 1], got {}", target));
  MaxRateResult result;
  result.target = target;
  ServingSpec probe = spec;
  ServingRunOptions quiet;
  quiet.quiet = true;
  auto attain = [&](double rate) {
    probe.workload.arrivals.rate = rate;
    const ServingOutcome o = run_serving(session, probe, quiet);
    result.probes.push_back({rate, o.attainment, o.goodput});
    return o.attainment >= target;
  };
  auto budget_left = [&] { return static_cast<int>(result.probes.size()) < kMaxProbes; };
  double lo = 0, hi = 0;  // highest rate seen to meet the target, lowest seen to miss it
  double rate = spec.workload.arrivals.rate;
  if (attain(rate)) {
    lo = rate;
    while (budget_left() && hi == 0) {
      if (attain(rate *= 2)) lo = rate;
      else hi = rate;
    }
  } else {
    hi = rate;
    while (budget_left() && lo == 0) {
      if (attain(rate /= 2)) lo = rate;
      else hi = rate;
    }
  }
  while (lo > 0 && hi > 0 && hi / lo - 1 > kTolerance && budget_left()) {
    const double mid = std::sqrt(lo * hi);
    (attain(mid) ? lo : hi) = mid;
  }
  result.rate = lo;
  for (const auto& p : result.probes)
    if (p.rate == lo) result.attainment = p.attainment;
  return result;
}

}  // namespace foresight::sim
