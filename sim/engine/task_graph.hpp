#pragma once
// A static task graph, the shape training iterations and collective benches are planned in: each
// task is compute (a duration on one stream of one rank) or a collective, with explicit
// dependencies; tasks on the same (rank, stream) run in submission order. run_task_graph is the
// engine client that starts every task once its dependencies complete.
#include <memory>
#include <string>
#include <vector>

#include "sim/collectives/collective.hpp"
#include "sim/collectives/plan.hpp"
#include "sim/engine/engine.hpp"

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
  // Optional pre-decomposed plan (tests, what-if studies); otherwise the engine plans `collective`
  // with the collective model.
  std::shared_ptr<const CollectivePlan> plan;
  std::vector<TaskId> deps;    // earlier tasks only
  // Where in the iteration the task belongs (traces label and merge slices by these; -1: none).
  int microbatch = -1;
  int layer = -1;              // global layer index
  int chunk = -1;              // virtual pipeline stage
  bool forward = true;
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

// Submits every task to a fresh `engine` (dependencies must point to earlier tasks: std::logic_error
// otherwise), runs it, and returns each task's start and end.
std::vector<TaskTiming> run_task_graph(const TaskGraph& graph, Engine& engine);

}  // namespace foresight::sim
