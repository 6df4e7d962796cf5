#pragma once
#include <memory>
#include <numeric>
#include <vector>

#include "../hwmodels/helpers.hpp"
#include "sim/collectives/collective_model.hpp"
#include "sim/collectives/decompose.hpp"
#include "sim/engine/flow/flow_engine.hpp"

namespace test {

inline std::vector<int> first_ranks(int n) {
  std::vector<int> r(static_cast<size_t>(n));
  std::iota(r.begin(), r.end(), 0);
  return r;
}

// Time of one collective in the flow model (SimGrid), alone on the cluster.
inline double flow_time(foresight::sim::CollectiveModel& model, const foresight::sim::CollectiveRequest& req) {
  foresight::sim::FlowEngine engine(model);
  const auto id = engine.collective(req);
  engine.run();
  return engine.end_time(id) - engine.start_time(id);
}

// Time of a pre-decomposed plan in the flow model, alone on the cluster.
inline double flow_time(foresight::sim::CollectiveModel& model, foresight::sim::CollectivePlan plan) {
  foresight::sim::FlowEngine engine(model);
  const auto id = engine.collective(std::make_shared<const foresight::sim::CollectivePlan>(std::move(plan)));
  engine.run();
  return engine.end_time(id) - engine.start_time(id);
}

}  // namespace test
