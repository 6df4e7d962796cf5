#include "sim/engine/task_readiness.hpp"

#include <stdexcept>
#include <unordered_map>

namespace foresight::sim {

TaskReadiness::TaskReadiness(const TaskGraph& graph) {
  const auto& tasks = graph.tasks();
  const size_t n = tasks.size();
  indegree_.assign(n, 0);
  succ_.assign(n, {});
  std::unordered_map<long long, TaskId> last_on_stream;
  for (size_t i = 0; i < n; ++i) {
    const Task& t = tasks[i];
    for (TaskId d : t.deps) {
      if (d < 0 || static_cast<size_t>(d) >= i)
        throw std::logic_error("task '" + t.name + "' depends on a task that is not submitted before it");
      succ_[static_cast<size_t>(d)].push_back(static_cast<TaskId>(i));
      ++indegree_[i];
    }
    const long long key = (static_cast<long long>(t.rank) << 20) ^ t.stream;
    auto [it, fresh] = last_on_stream.try_emplace(key, static_cast<TaskId>(i));
    if (!fresh) {
      succ_[static_cast<size_t>(it->second)].push_back(static_cast<TaskId>(i));
      ++indegree_[i];
      it->second = static_cast<TaskId>(i);
    }
  }
}

std::vector<TaskId> TaskReadiness::initially_ready() const {
  std::vector<TaskId> out;
  for (size_t i = 0; i < indegree_.size(); ++i)
    if (indegree_[i] == 0) out.push_back(static_cast<TaskId>(i));
  return out;
}

std::vector<TaskId> TaskReadiness::complete(TaskId id) {
  std::vector<TaskId> out;
  for (TaskId s : succ_[static_cast<size_t>(id)])
    if (--indegree_[static_cast<size_t>(s)] == 0) out.push_back(s);
  return out;
}

}  // namespace foresight::sim
