#include "sim/engine/task_graph.hpp"

#include <stdexcept>

namespace foresight::sim {

TaskId TaskGraph::add(Task t) {
  tasks_.push_back(std::move(t));
  return static_cast<TaskId>(tasks_.size() - 1);
}

std::vector<TaskTiming> run_task_graph(const TaskGraph& graph, Engine& engine) {
  if (engine.activities() != 0) throw std::logic_error("run_task_graph needs a fresh engine");
  // A fresh engine numbers activities from 0 in submission order, so task i is activity i.
  for (const Task& t : graph.tasks()) {
    const Lane lane{t.rank, t.stream};
    if (t.kind != Task::Kind::collective) engine.compute(lane, t.duration_s, t.deps);
    else if (t.plan) engine.collective(t.plan, lane, t.deps);
    else engine.collective(t.collective, lane, t.deps);
  }
  engine.run();
  std::vector<TaskTiming> timings(graph.tasks().size());
  for (size_t i = 0; i < timings.size(); ++i)
    timings[i] = {engine.start_time(static_cast<ActivityId>(i)), engine.end_time(static_cast<ActivityId>(i))};
  return timings;
}

}  // namespace foresight::sim
