#pragma once
// One entry point for the CLI and the Python module: scenario in, JSON document out.
#include <string>

#include <nlohmann/json.hpp>

#include "sim/scenario/scenario.hpp"

namespace foresight::sim {

struct RunOptions {
  std::string profile_path;   // calibrated profile; empty = datasheet roofline
  std::string trace_path;     // write a Perfetto/Chrome trace of the simulated timeline
};

struct RunOutput {
  nlohmann::json document;    // the --json contract
  std::string report;         // the human-readable report
};

RunOutput run_scenario(const Scenario& scenario, const RunOptions& options = {});

}  // namespace foresight::sim
