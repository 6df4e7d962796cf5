#pragma once
// The event-driven engine, in the spirit of SimGrid's S4U activities: start a compute activity on a
// rank's stream, a collective or a point-to-point transfer on the cluster, or a timer; each starts
// once what it waits for has completed, and `then` calls back when it completes. Callbacks may
// start more activities, so a client can decide what runs next from the state of the simulation
// (a serving scheduler picking its next batch, a failure process interrupting a job). A static task
// graph is one such client (task_graph.hpp).
//
// Two backends implement it: AnalyticalEngine (its own event heap; collectives take their
// contention-free time) and FlowEngine (SimGrid flows that share links by max-min; SimGrid's engine
// is process-global, so it runs in a child process and callbacks cross a pipe). Both give the same
// times where nothing contends.
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "sim/collectives/collective.hpp"
#include "sim/collectives/plan.hpp"
#include "sim/engine/activity_graph.hpp"

namespace foresight::sim {

class Engine {
 public:
  using Callback = std::function<void(ActivityId)>;
  using After = std::vector<ActivityId>;
  virtual ~Engine() = default;

  // Runs for `seconds` on `lane` (a rank's stream) once every activity in `after` has completed.
  ActivityId compute(Lane lane, double seconds, const After& after = {});
  // A collective among req.ranks (global GPU indices), planned by the collective model.
  ActivityId collective(const CollectiveRequest& req, Lane lane = {}, const After& after = {});
  // A collective whose plan is already decomposed (what-if studies, tests).
  ActivityId collective(std::shared_ptr<const CollectivePlan> plan, Lane lane = {}, const After& after = {});
  // A one-way point-to-point transfer of `bytes` from GPU src to GPU dst (ncclSend/ncclRecv).
  ActivityId transfer(int src, int dst, double bytes, Lane lane = {}, const After& after = {});
  // Completes at simulated time `at` (at once if `at` has passed).
  ActivityId timer(double at);
  // Calls `cb` when `id` completes (at once, in simulated time, if it already has). Callbacks run in
  // completion order; inside one, now() is its activity's end time.
  void then(ActivityId id, Callback cb);

  // Runs until every activity has completed. An engine runs once.
  void run();
  // Called now and then (every 4096 completions) with the activities completed and submitted so
  // far, for progress reports of long runs. The flow backend reports only at its end.
  void on_progress(std::function<void(size_t completed, size_t submitted)> cb) { progress_ = std::move(cb); }
  double now() const { return now_; }
  // After run(), or inside a callback for an activity that has completed.
  double start_time(ActivityId id) const;
  double end_time(ActivityId id) const;
  // How long the activity ran: exactly the duration the analytical backend computed (end - start
  // may differ from it in the last bit), end - start in flow fidelity.
  double duration(ActivityId id) const;
  size_t activities() const { return graph_.size(); }
  // Keep the records of completed activities (the default; start_time and friends need them), or
  // let the analytical backend drop them so a long dynamic run's memory stays flat.
  void keep_history(bool keep) { keep_history_ = keep; }

  virtual const char* fidelity() const = 0;   // "analytical" | "flow"
  virtual bool shares_links() const = 0;      // whether concurrent transfers contend for links

 protected:
  // A new activity waiting for `after`; `ready` when nothing it waits for is pending.
  virtual void submitted(ActivityId id, const After& after, bool ready) = 0;
  // A callback was registered for `id` (the first one for it).
  virtual void watched(ActivityId id) = 0;
  virtual void run_backend() = 0;
  // Runs the callbacks registered for `id`, at simulated time `time`.
  void fire(ActivityId id, double time);
  bool has_callbacks(ActivityId id) const { return callbacks_.count(id) > 0; }

  ActivityGraph graph_;
  double now_ = 0;
  bool ran_ = false;
  bool keep_history_ = true;
  std::function<void(size_t, size_t)> progress_;
  size_t completed_ = 0;
  // Backends call this per completion.
  void count_completion() {
    if (progress_ && (++completed_ & 4095) == 0) progress_(completed_, graph_.size());
  }

 private:
  ActivityId add(ActivityRecord r, const After& after);
  std::unordered_map<ActivityId, std::vector<Callback>> callbacks_;
};

}  // namespace foresight::sim
