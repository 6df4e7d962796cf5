#include "api/foresight_api.hpp"

#include "hwmodels/catalog/catalog_report.hpp"
#include "sim/run/run_scenario.hpp"
#include "sim/scenario/scenario.hpp"

namespace foresight::api {

RunResult run(const RunRequest& r) {
  const sim::LoadOptions load{r.overrides, r.catalog_files};
  const sim::Scenario scenario = r.scenario_path.empty()
                                     ? sim::load_scenario_text(r.scenario_text, r.scenario_name, load)
                                     : sim::load_scenario(r.scenario_path, load);
  sim::RunOptions options;
  options.profile_path = r.profile_path;
  options.trace_path = r.trace_path;
  options.requests_path = r.requests_path;
  options.max_rate_attainment = r.max_rate;
  const sim::RunOutput out = sim::run_scenario(scenario, options);
  return RunResult{out.document.dump(2), out.report};
}

const std::string& default_scenario_text() { return sim::default_scenario_text(); }

std::string catalog_table(const std::vector<std::string>& files) {
  return hw::catalog_table(hw::Catalog::builtin().with_files(files));
}

std::string catalog_json(const std::vector<std::string>& files) {
  return hw::catalog_json_text(hw::Catalog::builtin().with_files(files));
}

}  // namespace foresight::api
