#include "sim/engine/executor.hpp"

namespace foresight::sim {

TaskId TaskGraph::add(Task t) {
  tasks_.push_back(std::move(t));
  return static_cast<TaskId>(tasks_.size() - 1);
}

}  // namespace foresight::sim
