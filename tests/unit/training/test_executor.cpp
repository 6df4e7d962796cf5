// The analytical list scheduler and rank placement.
#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "sim/engine/analytical_executor.hpp"
#include "sim/training/placement.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {
TaskId add(TaskGraph& g, Task t) {
  g.tasks().push_back(std::move(t));
  return TaskId(g.tasks().size() - 1);
}
Task compute(int rank, int stream, double d, std::vector<TaskId> deps = {}) {
  Task t;
  t.rank = rank, t.stream = stream, t.duration_s = d, t.deps = std::move(deps);
  return t;
}
}  // namespace

TEST_CASE("tasks start at max(dependencies, stream free)", "[training][executor]") {
  TaskGraph g;
  const TaskId a = add(g, compute(0, 0, 1.0));
  const TaskId b = add(g, compute(0, 0, 2.0));          // stream order after a
  Task c;
  c.kind = Task::Kind::collective;
  c.rank = 0, c.stream = 1, c.collective.bytes = 50e9, c.deps = {a};   // 1 s + 10 us on the comm stream
  const TaskId ct = add(g, c);
  const TaskId d = add(g, compute(0, 0, 0.5, {ct}));    // waits for both b (stream) and the comm
  const TaskId e = add(g, compute(1, 0, 0.25, {b}));    // another rank
  const auto t = run_analytical(g, test::fake_timer());
  CHECK(t[a].end_s == Approx(1.0));
  CHECK(t[b].start_s == Approx(1.0));
  CHECK(t[ct].start_s == Approx(1.0));
  CHECK(t[ct].end_s == Approx(2.00001));
  CHECK(t[d].start_s == Approx(3.0));
  CHECK(t[e].start_s == Approx(3.0));
}

TEST_CASE("a dependency against stream order is reported as a cycle", "[training][executor]") {
  TaskGraph g;
  const TaskId a = add(g, compute(0, 0, 1.0));
  add(g, compute(0, 0, 1.0));
  g.tasks()[a].deps.push_back(1);
  CHECK_THROWS_AS(run_analytical(g, test::zero_timer()), std::logic_error);
}

TEST_CASE("placement puts TP innermost, then CP, PP, DP", "[training][executor]") {
  ParallelismSpec p;
  p.tp = 8, p.cp = 2, p.pp = 4, p.dp = 3;
  Placement pl(p);
  CHECK(pl.group("tp", {0, 1, 2, 1}) == std::vector<int>{104, 105, 106, 107, 108, 109, 110, 111});
  CHECK(pl.group("cp", {3, 0, 0, 0}) == std::vector<int>{3, 11});
  CHECK(pl.group("pp", {0, 0, 0, 0}) == std::vector<int>{0, 16, 32, 48});
  CHECK(pl.group("dp", {0, 0, 0, 0}) == std::vector<int>{0, 64, 128});
  p.order = {"dp", "tp", "cp", "pp"};
  Placement dp_first(p);
  CHECK(dp_first.group("dp", {0, 0, 0, 0}) == std::vector<int>{0, 1, 2});
  CHECK(dp_first.group("tp", {0, 0, 0, 0})[1] == 3);
}
