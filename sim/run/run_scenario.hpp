#pragma once
// One entry point for the CLI and the Python module: scenario in, JSON document and report out.
#include <string>

#include <nlohmann/json.hpp>

#include "sim/run/session.hpp"
#include "sim/scenario/scenario.hpp"

namespace foresight::sim {

struct RunOutput {
  nlohmann::json document;    // the --json contract
  std::string report;         // the human-readable report
};

// Builds the Session, looks the scenario's workload kind up in the registry and runs it.
RunOutput run_scenario(const Scenario& scenario, const RunOptions& options = {});

}  // namespace foresight::sim
