// The `foresight` command: a thin shell over the library. Every input problem is one line on
// stderr and exit code 2.
#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/cli/catalog_report.hpp"
#include "sim/core/error.hpp"
#include "sim/run/run_scenario.hpp"

using namespace foresight;

int main(int argc, char** argv) {
  CLI::App app{"Foresight: predict GPU-cluster training and collective performance by simulation"};
  app.require_subcommand(1);

  std::string scenario_path;
  std::vector<std::string> overrides;
  bool as_json = false;
  sim::RunOptions options;
  auto* run = app.add_subcommand("run", "Simulate a scenario (the built-in default when no file is given)");
  run->add_option("scenario", scenario_path, "scenario YAML file");
  run->add_option("--set", overrides, "override a scenario key: dotted.path=value (repeatable)");
  run->add_flag("--json", as_json, "print the JSON document instead of the report");
  run->add_option("--trace", options.trace_path, "write a Perfetto/Chrome trace of the simulated timeline");
  run->add_option("--profile", options.profile_path, "calibrated profile JSON (default: datasheet roofline)");

  bool catalog_json = false;
  auto* catalog = app.add_subcommand("catalog", "List the hardware catalog with sources");
  catalog->add_flag("--json", catalog_json, "print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    if (*catalog) {
      std::cout << (catalog_json ? catalog_json_text(hw::Catalog::builtin()) : catalog_table(hw::Catalog::builtin()));
      return 0;
    }
    const sim::Scenario scenario = scenario_path.empty()
                                       ? sim::load_scenario_text(sim::default_scenario_text(),
                                                                 "<built-in default scenario>", overrides)
                                       : sim::load_scenario(scenario_path, overrides);
    const auto out = sim::run_scenario(scenario, options);
    if (as_json)
      std::cout << out.document.dump(2) << "\n";
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
