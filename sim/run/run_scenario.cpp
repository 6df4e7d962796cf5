#include "sim/run/run_scenario.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace foresight::sim {

RunOutput run_scenario(const Scenario& scenario, const RunOptions& options) {
  const Workload* workload = WorkloadRegistry::builtin().find(scenario.workload_kind);
  if (!workload || !scenario.workload) throw std::logic_error("scenario has no parsed workload");
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
  doc["provenance"] = {{"collective_model", session.collectives().params().sources()}};
  doc["warnings"] = scenario.warnings;
  out.report = fmt::format("Foresight: {} ({} fidelity)\ncluster: {}\n", scenario.name, fidelity_name(scenario.fidelity),
                           cluster.describe());
  const auto result = workload->run(session, *scenario.workload);
  result->write(doc);
  out.report += result->report();
  return out;
}

}  // namespace foresight::sim
