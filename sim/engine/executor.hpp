#pragma once
// Runs a graph of tasks in simulated time. A task is compute (fixed duration on one stream of one
// rank) or a collective (on a group of ranks). Tasks on the same (rank, stream) run in submission
// order; a task starts when its dependencies are done and its stream is free. The analytical
// executor times collectives with the contention-free cost model; the flow executor runs them as
// SimGrid flows on the cluster so concurrent collectives share links.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/collectives/collective.hpp"
#include "sim/collectives/decompose.hpp"

namespace foresight::sim {

using TaskId = int;

struct Task {
  enum class Kind { compute, collective, delay } kind = Kind::compute;
  std::string name;            // shows in the trace
  std::string category;        // "compute", "tp", "pp", "dp", "cp", "optimizer", ... for breakdowns
  int rank = 0;                // owner (for a collective: the representative rank used in the trace)
  int stream = 0;              // 0 = compute, 1.. = communication streams
  double duration_s = 0;       // compute / delay
  CollectiveRequest collective;   // collective
  // Optional pre-decomposed plan (tests, what-if studies); otherwise the executor decomposes
  // `collective` with the collective model.
  std::shared_ptr<const CollectivePlan> plan;
  std::vector<TaskId> deps;
};

struct TaskTiming {
  double start_s = 0, end_s = 0;
};

class TaskGraph {
 public:
  TaskId add(Task t);
  const std::vector<Task>& tasks() const { return tasks_; }
  std::vector<Task>& tasks() { return tasks_; }
 private:
  std::vector<Task> tasks_;
};

}  // namespace foresight::sim
