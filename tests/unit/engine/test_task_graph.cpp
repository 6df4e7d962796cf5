// The static task graph as an engine client: list scheduling with stream order.
#include <catch2/catch.hpp>

#include "sim/engine/analytical/analytical_engine.hpp"
#include "sim/engine/task_graph.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {

Task compute(int rank, int stream, double d, std::vector<TaskId> deps = {}) {
  Task t;
  t.rank = rank, t.stream = stream, t.duration_s = d, t.deps = std::move(deps);
  return t;
}

// alpha-beta with 10 us latency and 50 GB/s, independent of the group.
CollectiveTimer fake_timer() {
  return [](const CollectiveRequest& r) { return CollectiveResult{10e-6 + r.bytes / 50e9, "test", "test"}; };
}

}  // namespace

TEST_CASE("tasks start at max(dependencies, stream free)", "[engine][task_graph]") {
  TaskGraph g;
  const TaskId a = g.add(compute(0, 0, 1.0));
  const TaskId b = g.add(compute(0, 0, 2.0));          // stream order after a
  Task c;
  c.kind = Task::Kind::collective;
  c.rank = 0, c.stream = 1, c.collective.bytes = 50e9, c.deps = {a};   // 1 s + 10 us on the comm stream
  const TaskId ct = g.add(c);
  const TaskId d = g.add(compute(0, 0, 0.5, {ct}));    // waits for both b (stream) and the comm
  const TaskId e = g.add(compute(1, 0, 0.25, {b}));    // another rank
  AnalyticalEngine engine(fake_timer());
  const auto t = run_task_graph(g, engine);
  CHECK(t[a].end_s == 1.0);
  CHECK(t[b].start_s == 1.0);
  CHECK(t[ct].start_s == 1.0);
  CHECK(t[ct].end_s == Approx(2.00001).epsilon(1e-12));
  CHECK(t[d].start_s == 3.0);
  CHECK(t[e].start_s == 3.0);
}

TEST_CASE("a dependency on a later task is a programming error", "[engine][task_graph]") {
  TaskGraph g;
  const TaskId a = g.add(compute(0, 0, 1.0));
  g.add(compute(0, 0, 1.0));
  g.tasks()[a].deps.push_back(1);
  AnalyticalEngine engine(fake_timer());
  CHECK_THROWS_AS(run_task_graph(g, engine), std::logic_error);
}
