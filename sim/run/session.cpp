#include "sim/run/session.hpp"

#include "hwmodels/cost/calibrated_cost_model.hpp"
#include "hwmodels/cost/roofline_cost_model.hpp"
#include "hwmodels/profile.hpp"
#include "sim/engine/analytical/analytical_engine.hpp"
#include "sim/engine/flow/flow_engine.hpp"

namespace foresight::sim {

Session::Session(Scenario scenario, RunOptions options)
    : scenario_(std::move(scenario)), options_(std::move(options)), cluster_(hw::Cluster::build(scenario_.cluster)),
      collectives_(cluster_, NcclParams::defaults()) {}

const hw::Profile* Session::profile() {
  if (options_.profile_path.empty()) return nullptr;
  if (!profile_) profile_ = hw::load_profile(options_.profile_path);
  return &*profile_;
}

const hw::ComputeCostModel& Session::compute() {
  if (!compute_) {
    if (const hw::Profile* p = profile())
      compute_ = std::make_unique<hw::CalibratedCostModel>(*p, cluster_.gpu());
    else
      compute_ = std::make_unique<hw::RooflineCostModel>(cluster_.gpu());
  }
  return *compute_;
}

const hw::CalibratedCollectives* Session::measured_collectives() {
  if (!measured_ && profile()) measured_ = std::make_unique<hw::CalibratedCollectives>(*profile());
  return measured_.get();
}

std::unique_ptr<Engine> Session::engine() {
  if (scenario_.fidelity == Fidelity::flow) return std::make_unique<FlowEngine>(collectives_);
  return std::make_unique<AnalyticalEngine>(collectives_);
}

}  // namespace foresight::sim
