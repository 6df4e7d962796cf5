// The `foresight` command: a thin shell over the library. Every input problem is one line on
// stderr and exit code 2.
#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/foresight_api.hpp"
#include "core/error.hpp"

using namespace foresight;

int main(int argc, char** argv) {
  CLI::App app{"Foresight: predict GPU-cluster training, serving and collective performance by simulation"};
  app.require_subcommand(1);

  std::string scenario_path;
  std::vector<std::string> overrides;
  std::vector<std::string> catalog_files;
  bool as_json = false;
  api::RunRequest request;
  auto* run = app.add_subcommand("run", "Simulate a scenario (the built-in default when no file is given)");
  run->add_option("scenario", scenario_path, "scenario YAML file");
  run->add_option("--set", overrides, "override a scenario key: dotted.path=value (repeatable)");
  run->add_flag("--json", as_json, "print the JSON document instead of the report");
  run->add_option("--trace", request.trace_path, "write a Perfetto/Chrome trace of the simulated timeline");
  run->add_option("--profile", request.profile_path, "calibrated profile JSON (default: datasheet roofline)");
  run->add_option("--requests", request.requests_path, "serving: write one CSV row per request to this file");
  run->add_option("--max-rate", request.max_rate,
                  "serving: also find the highest arrival rate at which this fraction of requests meets the SLO (e.g. 0.9)")
      ->check(CLI::Range(0.0, 1.0));
  run->add_option("--catalog", catalog_files, "a catalog YAML file of your own GPUs, systems, NICs, switches or models "
                                              "(repeatable; every number needs its source)");

  bool catalog_json = false;
  auto* catalog = app.add_subcommand("catalog", "List the hardware catalog with sources");
  catalog->add_flag("--json", catalog_json, "print JSON");
  catalog->add_option("--catalog", catalog_files, "add a catalog YAML file of your own (repeatable)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    if (*catalog) {
      std::cout << (catalog_json ? api::catalog_json(catalog_files) : api::catalog_table(catalog_files));
      return 0;
    }
    request.scenario_path = scenario_path;
    if (scenario_path.empty()) {
      request.scenario_text = api::default_scenario_text();
      request.scenario_name = "<built-in default scenario>";
    }
    request.overrides = overrides;
    request.catalog_files = catalog_files;
    const auto out = api::run(request);
    if (as_json)
      std::cout << out.json << "\n";
    else
      std::cout << out.report;
    return 0;
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    return 1;
  }
}
