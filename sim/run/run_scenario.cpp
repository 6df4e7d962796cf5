#include "sim/run/run_scenario.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "core/error.hpp"

namespace foresight::sim {

namespace {

// No result leaves with NaN, infinity (JSON would print null) or a negative duration: such a value
// means the inputs drove a model outside its range, which the user must hear about, naming the field.
void check_result(const nlohmann::json& v, const std::string& path) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) check_result(*it, path.empty() ? it.key() : path + "." + it.key());
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) check_result(v[i], path + "[" + std::to_string(i) + "]");
  } else if (v.is_number_float()) {
    const double x = v.get<double>();
    if (!std::isfinite(x))
      throw InputError(SourceLocation{"result", 0, 0}, path,
                       "is not a finite number: the inputs take the model outside its range (check the profile and "
                       "the scenario's sizes)");
    const bool duration = path.size() > 2 && path.compare(path.size() - 2, 2, "_s") == 0;
    if (duration && x < 0)
      throw InputError(SourceLocation{"result", 0, 0}, path, "is a negative duration: the inputs take the model outside its range");
  }
}

}  // namespace

namespace {
RunOutput run_unlocated(const Scenario& scenario, const RunOptions& options);
}

RunOutput run_scenario(const Scenario& scenario, const RunOptions& options) {
  try {
    return run_unlocated(scenario, options);
  } catch (const InputError& e) {
    throw locate_error(scenario, e);
  }
}

namespace {

RunOutput run_unlocated(const Scenario& scenario, const RunOptions& options) {
  const Workload* workload = WorkloadRegistry::builtin().find(scenario.workload_kind);
  if (!workload || !scenario.workload) throw std::logic_error("scenario has no parsed workload");
  // Every flag either works for the workload or is an error.
  if (!options.requests_path.empty() && scenario.workload_kind != "serving")
    throw InputError(SourceLocation{"--requests", 0, 0}, "", "per-request records come from serving scenarios only");
  if (!options.trace_detail.empty() && (options.trace_path.empty() || scenario.workload_kind != "training"))
    throw InputError(SourceLocation{"--trace-detail", 0, 0}, "", "applies to training runs with --trace");
  if (options.max_rate_attainment > 0 && scenario.workload_kind != "serving")
    throw InputError(SourceLocation{"--max-rate", 0, 0}, "", "a max-rate search needs a serving scenario");
  Session session(scenario, options);
  const hw::Cluster& cluster = session.cluster();
  RunOutput out;
  auto& doc = out.document;
  doc["scenario"] = scenario.name;
  doc["fidelity"] = fidelity_name(scenario.fidelity);
  doc["seed"] = scenario.seed;
  doc["cluster"] = {{"system", cluster.system().id},
                    {"gpu", cluster.gpu().id},
                    {"nodes", cluster.nodes()},
                    {"gpus", cluster.gpus()},
                    {"description", cluster.describe()}};
  doc["plan"] = scenario.workload->describe();
  doc["provenance"] = {{"collective_model", session.collectives().params().sources()}};
  doc["warnings"] = scenario.warnings;
  // A collective bench's report is an nccl-tests log (its parsers skip '#' lines): the header too.
  const std::string lead = scenario.workload_kind == "collective-bench" ? "# " : "";
  out.report = fmt::format("{}Foresight: {} ({} fidelity)\n{}cluster: {}\n", lead, scenario.name,
                           fidelity_name(scenario.fidelity), lead, cluster.describe());
  const auto result = workload->run(session, *scenario.workload);
  result->write(doc);
  doc["provenance"]["calibration"] = session.calibration_json();
  check_result(doc, "");
  out.report += result->report();
  out.report += lead + session.calibration_line();
  return out;
}

}  // namespace

}  // namespace foresight::sim
