#include "sim/run/run_scenario.hpp"

#include <fmt/format.h>

#include "hwmodels/profile.hpp"
#include "sim/run/collective_bench.hpp"
#include "sim/run/training_driver.hpp"

namespace foresight::sim {

RunOutput run_scenario(const Scenario& scenario, const RunOptions& options) {
  const auto& catalog = hw::Catalog::builtin();
  const hw::Cluster cluster = hw::Cluster::build(scenario.cluster, catalog);
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
  const NcclParams params = NcclParams::defaults();
  doc["provenance"] = {{"collective_model", params.sources()}};
  doc["warnings"] = scenario.warnings;
  out.report = fmt::format("Foresight: {} ({} fidelity)\ncluster: {}\n", scenario.name, fidelity_name(scenario.fidelity),
                           cluster.describe());
  // A training report lists its warnings (which include the scenario's) itself.
  if (scenario.workload_kind != "training")
    for (const auto& w : scenario.warnings) out.report += "warning: " + w + "\n";
  CollectiveModel model(cluster, params);
  if (scenario.workload_kind == "collective-bench") {
    auto rows = run_collective_bench(scenario.bench, model, scenario.fidelity);
    if (!options.profile_path.empty()) {
      const auto profile = hw::load_profile(options.profile_path);
      const int replaced = apply_calibrated_collectives(profile, scenario.bench, cluster.system().id, rows);
      doc["provenance"]["collective_profile"] =
          fmt::format("{}: {} of {} rows timed from measured collectives", options.profile_path, replaced, rows.size());
    }
    doc["collectives"] = bench_rows_json(rows);
    out.report += format_bench_table(rows, scenario.bench.dtype);
  } else {
    run_training_scenario(scenario, cluster, model, options, out);
  }
  return out;
}

}  // namespace foresight::sim
