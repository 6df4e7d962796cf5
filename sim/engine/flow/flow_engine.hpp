#pragma once
// The flow backend: every transfer of every collective is a SimGrid flow on the cluster's links,
// so concurrent collectives share bandwidth by max-min. SimGrid allows one engine per process, so
// run() forks: the child simulates (flow_simulation.hpp) and the client's callbacks run here, in
// the caller's process, each completion it watches crossing a pipe and the activities its callback
// starts crossing back. Activities nobody watches cost no round trip, so a static task graph runs
// in the child without stopping. The caller's process stays reusable (tests, the Python module).
#include <unordered_set>

#include "sim/collectives/collective_model.hpp"
#include "sim/engine/engine.hpp"
#include "sim/engine/flow/flow_channel.hpp"

namespace foresight::sim {

class FlowEngine final : public Engine {
 public:
  explicit FlowEngine(CollectiveModel& model) : model_(model) {}

  const char* fidelity() const override { return "flow"; }
  bool shares_links() const override { return true; }

 protected:
  void submitted(ActivityId id, const After& after, bool ready) override;
  void watched(ActivityId id) override;
  void run_backend() override;

 private:
  void serve(flow::Channel& channel);

  CollectiveModel& model_;
  std::unordered_set<ActivityId> watched_;
  bool forked_ = false;
  flow::Writer outbox_;             // what callbacks started, sent when the callback returns
  int requests_sent_ = 0, plans_sent_ = 0;
};

}  // namespace foresight::sim
