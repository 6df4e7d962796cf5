#include "sim/engine/analytical_executor.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

namespace foresight::sim {

namespace {

struct StreamKey {
  int rank, stream;
  bool operator==(const StreamKey& o) const { return rank == o.rank && stream == o.stream; }
};
struct StreamKeyHash {
  size_t operator()(const StreamKey& k) const { return std::hash<long long>()((long long)k.rank << 20 ^ k.stream); }
};

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
  // The stream order is an implicit dependency on the previous task of the same (rank, stream).
  std::vector<int> stream_prev(n, -1);
  {
    std::unordered_map<StreamKey, int, StreamKeyHash> last;
    for (size_t i = 0; i < n; ++i) {
      const StreamKey k{tasks[i].rank, tasks[i].stream};
      auto it = last.find(k);
      if (it != last.end()) stream_prev[i] = it->second;
      last[k] = int(i);
    }
  }
  std::vector<int> indegree(n, 0);
  std::vector<std::vector<int>> succ(n);
  for (size_t i = 0; i < n; ++i) {
    for (TaskId d : tasks[i].deps) {
      if (d < 0 || size_t(d) >= n) throw std::logic_error("task '" + tasks[i].name + "' depends on a missing task");
      succ[d].push_back(int(i));
      ++indegree[i];
    }
    if (stream_prev[i] >= 0) {
      succ[stream_prev[i]].push_back(int(i));
      ++indegree[i];
    }
  }
  TimerCache cache(timer);
  std::vector<TaskTiming> timing(n);
  std::vector<double> ready(n, 0.0);
  std::vector<int> queue;
  queue.reserve(n);
  for (size_t i = 0; i < n; ++i)
    if (indegree[i] == 0) queue.push_back(int(i));
  size_t done = 0;
  while (!queue.empty()) {
    const int i = queue.back();
    queue.pop_back();
    ++done;
    const Task& t = tasks[i];
    const double dur = t.kind == Task::Kind::collective ? cache.seconds(t.collective) : t.duration_s;
    timing[i].start_s = ready[i];
    timing[i].end_s = ready[i] + dur;
    for (int s : succ[i]) {
      ready[s] = std::max(ready[s], timing[i].end_s);
      if (--indegree[s] == 0) queue.push_back(s);
    }
  }
  if (done != n) throw std::logic_error("task graph has a cycle: dependencies contradict stream order");
  return timing;
}

}  // namespace foresight::sim
