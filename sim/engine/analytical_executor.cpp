#include "sim/engine/analytical_executor.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>

#include "sim/engine/task_readiness.hpp"

namespace foresight::sim {

namespace {

// Planners issue the same collective (same op, size and group) thousands of times; the timer may
// be expensive on large groups, so identical requests are timed once.
class TimerCache {
 public:
  explicit TimerCache(const CollectiveTimer& t) : timer_(t) {}
  double seconds(const CollectiveRequest& r) {
    auto key = std::make_tuple(int(r.op), r.bytes, r.ranks, r.algorithm, r.protocol);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    const double s = timer_(r).time_s;
    cache_.emplace(std::move(key), s);
    return s;
  }

 private:
  const CollectiveTimer& timer_;
  std::map<std::tuple<int, double, std::vector<int>, std::string, std::string>, double> cache_;
};

}  // namespace

std::vector<TaskTiming> run_analytical(const TaskGraph& graph, const CollectiveTimer& timer) {
  const auto& tasks = graph.tasks();
  const size_t n = tasks.size();
  // Dependencies must point to earlier tasks, so a dependency against stream order (a cycle) is
  // rejected here as a std::logic_error.
  TaskReadiness readiness(graph);
  TimerCache cache(timer);
  std::vector<TaskTiming> timing(n);
  std::vector<double> ready(n, 0.0);
  std::vector<TaskId> queue = readiness.initially_ready();
  size_t done = 0;
  while (!queue.empty()) {
    const TaskId i = queue.back();
    queue.pop_back();
    ++done;
    const Task& t = tasks[static_cast<size_t>(i)];
    const double dur = t.kind == Task::Kind::collective ? cache.seconds(t.collective) : t.duration_s;
    timing[static_cast<size_t>(i)] = {ready[static_cast<size_t>(i)], ready[static_cast<size_t>(i)] + dur};
    for (TaskId s : readiness.successors(i))
      ready[static_cast<size_t>(s)] = std::max(ready[static_cast<size_t>(s)], timing[static_cast<size_t>(i)].end_s);
    for (TaskId s : readiness.complete(i)) queue.push_back(s);
  }
  if (done != n) throw std::logic_error("task graph has a cycle: dependencies contradict stream order");
  return timing;
}

}  // namespace foresight::sim
