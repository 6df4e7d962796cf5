#pragma once
// A serving run on the session's engine: requests arrive (timers, or clients in a closed loop), the
// router picks a replica, admission may turn them away, and each replica runs its scheduler step
// after step as engine activities whose durations come from the iteration cost model.
#include <string>

#include <nlohmann/json.hpp>

#include "sim/run/session.hpp"
#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

struct ServingRunOptions {
  std::string requests_csv;   // one row per request, streamed
  std::string trace_path;     // Perfetto: one track per replica, one slice per step
  bool quiet = false;         // no per-run report text (rate searches)
};

struct ServingOutcome {
  nlohmann::json section;     // the JSON `serving` section
  std::string report;
  double attainment = 0, goodput = 0, offered_rate = 0;
};

ServingOutcome run_serving(Session& session, const ServingSpec& spec, const ServingRunOptions& options = {});

}  // namespace foresight::sim
