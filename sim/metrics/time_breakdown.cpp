#include "sim/metrics/time_breakdown.hpp"

#include <algorithm>
#include <map>

namespace foresight::sim {

double TimeBreakdown::total() const {
  double t = compute + bubble + optimizer;
  for (double e : exposed) t += e;
  return t;
}

TimeBreakdown attribute_time(const TaskGraph& graph, const std::vector<TaskTiming>& timings, int rank,
                             int compute_stream) {
  const auto& tasks = graph.tasks();
  const size_t n = tasks.size();
  TimeBreakdown b;
  // Stream order is an implicit dependency; the critical-path walk needs it explicitly.
  std::vector<int> stream_prev(n, -1);
  {
    std::map<std::pair<int, int>, int> last;
    for (size_t i = 0; i < n; ++i) {
      auto [it, fresh] = last.try_emplace({tasks[i].rank, tasks[i].stream}, int(i));
      if (!fresh) stream_prev[i] = it->second, it->second = int(i);
    }
  }
  auto blocker_of = [&](int i) {
    int best = stream_prev[i];
    for (TaskId d : tasks[i].deps)
      if (best < 0 || timings[d].end_s > timings[best].end_s) best = d;
    return best;
  };
  auto charge = [&](const Task& t, double seconds) {
    if (t.kind != Task::Kind::collective) {
      b.bubble += seconds;   // waiting for another rank's compute
    } else if (const auto d = parse_dim(t.category)) {
      b.exposed[index(*d)] += seconds;
    } else {
      b.bubble += seconds;
    }
  };
  // Idle time [from, to] on the reported compute stream is charged along the chain of whatever
  // the next task waited for: each link owns the part of the interval it was running.
  auto attribute_gap = [&](int waiter, double from, double to) {
    int cur = blocker_of(waiter);
    while (to > from && cur >= 0) {
      const double s = std::max(from, timings[cur].start_s);
      if (to > s) charge(tasks[cur], to - s);
      to = std::min(to, s);
      cur = blocker_of(cur);
    }
    if (to > from) b.bubble += to - from;
  };
  double iteration = 0;
  int last_task = -1;
  for (size_t i = 0; i < n; ++i)
    if (timings[i].end_s >= iteration) iteration = timings[i].end_s, last_task = int(i);
  double cursor = 0;
  for (size_t i = 0; i < n; ++i) {
    const Task& t = tasks[i];
    if (t.rank != rank || t.stream != compute_stream) continue;
    if (timings[i].start_s > cursor) attribute_gap(int(i), cursor, timings[i].start_s);
    const double dur = timings[i].end_s - timings[i].start_s;
    if (t.category == "optimizer") b.optimizer += dur;
    else b.compute += dur;
    if (t.category == "recompute") b.recompute += dur;
    cursor = std::max(cursor, timings[i].end_s);
  }
  if (iteration > cursor && last_task >= 0) {
    // The iteration ends with another rank's or stream's work: charge the chain ending there.
    const double s = std::max(cursor, timings[last_task].start_s);
    charge(tasks[last_task], iteration - s);
    int cur = last_task;
    double to = s;
    while (to > cursor && (cur = blocker_of(cur)) >= 0) {
      const double st = std::max(cursor, timings[cur].start_s);
      if (to > st) charge(tasks[cur], to - st);
      to = std::min(to, st);
    }
    if (to > cursor) b.bubble += to - cursor;
  }
  return b;
}

nlohmann::json to_json(const TimeBreakdown& b) {
  nlohmann::json j{{"compute", b.compute}, {"recompute", b.recompute}, {"bubble", b.bubble}, {"optimizer", b.optimizer}};
  for (const auto& info : kParallelDimTable) j[info.breakdown_key] = b.exposed[index(info.dim)];
  return j;
}

}  // namespace foresight::sim
