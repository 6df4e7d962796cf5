#pragma once
// The library's front door for its two shells, the `foresight` command and the Python module:
// plain strings and JSON in, JSON documents and reports out. Neither shell includes the other, and
// neither reaches into sim/. Bad input throws foresight::InputError (core/error.hpp).
#include <functional>
#include <string>
#include <vector>

namespace foresight::api {

struct RunRequest {
  std::string scenario_path;              // a scenario file, or
  std::string scenario_text;              // scenario YAML text (used when scenario_path is empty)
  std::string scenario_name = "<string>"; // how errors name scenario_text
  std::vector<std::string> overrides;     // "dotted.key=value", as --set
  std::vector<std::string> catalog_files; // user catalog YAML files, as --catalog
  std::string profile_path;               // calibrated profile, as --profile
  std::string trace_path;                 // Perfetto trace to write, as --trace
  std::string trace_detail;               // ops | layers | passes, as --trace-detail
  std::string requests_path;              // serving: one CSV row per request, as --requests
  double max_rate = 0;                    // serving: search the max rate at this SLO attainment, as --max-rate
  std::string max_memory;                 // memory budget ("8 GiB"), as --max-memory; empty: the default
  // Hears how much of a long run is done (at most four times a second): done, total, what is counted.
  std::function<void(double, double, const std::string&)> progress;
};

struct RunResult {
  std::string json;     // the --json document
  std::string report;   // the human-readable report
};

RunResult run(const RunRequest& request);

// The scenario as it resolves (overrides applied, nothing simulated): name, workload kind,
// fidelity, calibration, the cluster (system, GPU, nodes, GPUs per node) and the workload's plan
// (`describe()`). Bad input throws like run() does; a sweep checks its keys with this first.
std::string inspect_json(const RunRequest& request);

// "0.3.0" and the git revision the library was built from ("" when unknown).
std::string version();
std::string git_revision();

const std::string& default_scenario_text();
// The built-in catalog plus `catalog_files`, as a table with sources or as JSON.
std::string catalog_table(const std::vector<std::string>& catalog_files = {});
std::string catalog_json(const std::vector<std::string>& catalog_files = {});

}  // namespace foresight::api
