#pragma once
// Dependency bookkeeping shared by the executors: a task becomes ready when its explicit
// dependencies and the previous task on its (rank, stream) have completed.
#include <vector>

#include "sim/engine/executor.hpp"

namespace foresight::sim {

class TaskReadiness {
 public:
  explicit TaskReadiness(const TaskGraph& graph);  // throws std::logic_error on a missing dependency
  std::vector<TaskId> initially_ready() const;
  std::vector<TaskId> complete(TaskId id);         // the tasks this completion made ready
  const std::vector<TaskId>& successors(TaskId id) const { return succ_[static_cast<size_t>(id)]; }

 private:
  std::vector<int> indegree_;
  std::vector<std::vector<TaskId>> succ_;
};

}  // namespace foresight::sim
