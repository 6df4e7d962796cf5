#include "sim/run/session.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "hwmodels/cost/calibrated_cost_model.hpp"
#include "hwmodels/cost/roofline_cost_model.hpp"
#include "hwmodels/profile.hpp"
#include "hwmodels/profile_library.hpp"
#include "sim/engine/analytical/analytical_engine.hpp"
#include "sim/engine/flow/flow_engine.hpp"

namespace foresight::sim {

Session::Session(Scenario scenario, RunOptions options)
    : scenario_(std::move(scenario)), options_(std::move(options)), cluster_(hw::Cluster::build(scenario_.cluster)),
      collectives_(cluster_, NcclParams::defaults()) {}

void Session::resolve_calibration() {
  if (resolved_) return;
  resolved_ = true;
  if (!options_.profile_path.empty()) {
    profile_file_ = options_.profile_path;
    calibration_why_ = "--profile";
    return;
  }
  const auto choice = hw::choose_calibration(scenario_.calibration, cluster_.gpu().id, scenario_.workload->kernel_family());
  profile_file_ = choice.profile_path;
  calibration_why_ = choice.why;
}

const hw::Profile* Session::profile() {
  resolve_calibration();
  if (profile_file_.empty()) return nullptr;
  if (!profile_) profile_ = hw::load_profile_cached(profile_file_);
  return profile_.get();
}

nlohmann::json Session::calibration_json() {
  resolve_calibration();
  nlohmann::json j{{"source", profile_file_.empty() ? "roofline" : "profile"}, {"why", calibration_why_}};
  if (!profile_file_.empty()) j["profile"] = profile_file_;
  if (compute_) {
    const hw::CostUsage u = compute_->usage();
    if (u.total() > 0)
      j["queries"] = {{"measured_table", u.table}, {"table_edge_scaled", u.table_outside}, {"fitted", u.fit},
                      {"fitted_outside", u.fit_outside}, {"roofline", u.roofline}};
  }
  return j;
}

std::string Session::calibration_line() {
  const nlohmann::json j = calibration_json();
  std::string s = j["why"].get<std::string>();
  if (j.contains("queries")) {
    const auto& q = j["queries"];
    const long measured = q["measured_table"].get<long>() + q["fitted"].get<long>();
    const long edge = q["table_edge_scaled"].get<long>() + q["fitted_outside"].get<long>();
    const long roof = q["roofline"].get<long>();
    s += fmt::format(" (distinct kernel queries: {} measured, {} past the measured region, {} roofline)", measured, edge, roof);
  }
  return s + "\n";
}

const hw::ComputeCostModel& Session::compute() {
  if (!compute_) {
    if (profile())
      compute_ = std::make_unique<hw::CalibratedCostModel>(profile_, cluster_.gpu());
    else
      compute_ = std::make_unique<hw::RooflineCostModel>(cluster_.gpu());
  }
  return *compute_;
}

const hw::CalibratedCollectives* Session::measured_collectives() {
  if (!measured_ && profile()) measured_ = std::make_shared<hw::CalibratedCollectives>(profile_);
  return measured_.get();
}

CollectiveModel& Session::collectives() {
  if (!measured_wired_) {
    measured_wired_ = true;
    const auto* m = scenario_.workload->kernel_family().empty() ? nullptr : measured_collectives();
    // Only measurements of this cluster's GPU (a profile that names another GPU is not used for
    // its collectives; its kernels are still the user's explicit choice).
    if (m && !m->empty()) {
      const auto& prov = m->profile().provenance;
      const auto gpu = prov.find("gpu");
      if (gpu == prov.end() || !gpu->is_string() || gpu->get<std::string>() == cluster_.gpu().id)
        collectives_.use_measured(measured_), measured_in_use_ = true;
    }
  }
  return collectives_;
}

Session& Session::for_system(const std::string& system) {
  if (system.empty() || system == scenario_.cluster.system) return *this;
  if (auto it = systems_.find(system); it != systems_.end()) return *it->second;
  const auto group = std::find_if(scenario_.cluster.extra.begin(), scenario_.cluster.extra.end(),
                                  [&](const hw::NodeGroup& g) { return g.system == system; });
  if (group == scenario_.cluster.extra.end()) throw std::logic_error("Session::for_system: no nodes of " + system);
  Scenario sub = scenario_;
  sub.cluster = hw::ClusterSpec{};
  sub.cluster.system = system;
  sub.cluster.nodes = group->nodes;
  sub.cluster.seed = scenario_.cluster.seed;
  hw::resolve_cluster(sub.cluster, *scenario_.catalog);
  RunOptions options = options_;
  options.trace_path.clear(), options.requests_path.clear(), options.max_rate_attainment = 0;
  return *systems_.emplace(system, std::make_unique<Session>(std::move(sub), options)).first->second;
}

std::unique_ptr<Engine> Session::engine() {
  if (scenario_.fidelity == Fidelity::flow) return std::make_unique<FlowEngine>(collectives());
  return std::make_unique<AnalyticalEngine>(collectives());
}

}  // namespace foresight::sim
