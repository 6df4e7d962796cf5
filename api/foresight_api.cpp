#include "api/foresight_api.hpp"

#include <optional>

#include "core/memory_budget.hpp"

#include <nlohmann/json.hpp>

#include "hwmodels/catalog/catalog_report.hpp"
#include "sim/run/run_scenario.hpp"
#include "sim/scenario/scenario.hpp"

namespace foresight::api {

RunResult run(const RunRequest& r) {
  std::optional<ScopedMemoryBudget> budget;
  if (!r.max_memory.empty()) budget.emplace(r.max_memory, "--max-memory");
  const sim::LoadOptions load{r.overrides, r.catalog_files};
  const sim::Scenario scenario = r.scenario_path.empty()
                                     ? sim::load_scenario_text(r.scenario_text, r.scenario_name, load)
                                     : sim::load_scenario(r.scenario_path, load);
  sim::RunOptions options;
  options.profile_path = r.profile_path;
  options.trace_path = r.trace_path;
  options.trace_detail = r.trace_detail;
  options.requests_path = r.requests_path;
  options.max_rate_attainment = r.max_rate;
  options.progress = r.progress;
  const sim::RunOutput out = sim::run_scenario(scenario, options);
  // Names come from user files: invalid UTF-8 is replaced (U+FFFD) so the document is always valid JSON.
  return RunResult{out.document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace), out.report};
}

std::string inspect_json(const RunRequest& r) {
  std::optional<ScopedMemoryBudget> budget;
  if (!r.max_memory.empty()) budget.emplace(r.max_memory, "--max-memory");
  const sim::LoadOptions load{r.overrides, r.catalog_files};
  const sim::Scenario s = r.scenario_path.empty() ? sim::load_scenario_text(r.scenario_text, r.scenario_name, load)
                                                  : sim::load_scenario(r.scenario_path, load);
  const auto& c = s.cluster;
  nlohmann::json j{{"scenario", s.name},
                   {"workload", s.workload_kind},
                   {"fidelity", sim::fidelity_name(s.fidelity)},
                   {"calibration", r.profile_path.empty() ? s.calibration : r.profile_path},
                   {"seed", s.seed},
                   {"cluster",
                    {{"system", c.system},
                     {"gpu", c.gpu_spec.id},
                     {"nodes", c.nodes},
                     {"gpus_per_node", c.system_spec.gpus_per_node},
                     {"gpus", c.total_nodes() * c.system_spec.gpus_per_node},
                     {"nvlink_domain", c.system_spec.nvlink_domain}}},
                   {"plan", s.workload->describe()},
                   {"warnings", s.warnings}};
  for (const auto& g : c.extra)
    j["cluster"]["extra_nodes"].push_back({{"system", g.system}, {"gpu", g.gpu_spec.id}, {"nodes", g.nodes}});
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string version() { return FORESIGHT_VERSION; }
std::string git_revision() { return FORESIGHT_GIT_REVISION; }

const std::string& default_scenario_text() { return sim::default_scenario_text(); }

std::string catalog_table(const std::vector<std::string>& files) {
  return hw::catalog_table(hw::Catalog::builtin().with_files(files));
}

std::string catalog_json(const std::vector<std::string>& files) {
  return hw::catalog_json_text(hw::Catalog::builtin().with_files(files));
}

}  // namespace foresight::api
