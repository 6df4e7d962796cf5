// The event-driven engine API with a dynamic client, on both backends, against closed forms.
#include <catch2/catch.hpp>

#include <cmath>

#include <functional>

#include "sim/engine/analytical/analytical_engine.hpp"
#include "sim/engine/flow/flow_engine.hpp"
#include "sim/run/session.hpp"
#include "sim/scenario/scenario.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {

// Two DGX H100 nodes on a rail-optimized fabric; the workload only makes the scenario complete.
const char* kTwoNodes = R"(name: engine-test
fidelity: analytical
cluster: {system: dgx-h100, nodes: 2}
workload: {kind: collective-bench, ops: [all_reduce], ranks: 16, sizes: {min: 1MiB, max: 1MiB}}
)";

Scenario two_nodes(Fidelity f) {
  Scenario s = load_scenario_text(kTwoNodes, "engine-test.yaml");
  s.fidelity = f;
  return s;
}

// Closed form of one ncclSend of `bytes` between two nodes: the NIC's bandwidth at the Simple
// protocol's network efficiency, plus NCCL's base and network-hop latency, the extra switch hops of
// the fabric's tiers above the leaves, and one kernel launch (decompose_transfer).
double network_transfer_time(const hw::Cluster& c, const NcclParams& p, double bytes) {
  const int simple = 2, ring_row = 0;
  const double extra_hops = (c.tiers() - 1) * 2 * c.switch_latency();
  return bytes / (c.nic_bandwidth() * p.network_efficiency[simple]) + p.base_latency[ring_row][simple] +
         p.network_hop_latency[ring_row][simple] + extra_hops + p.launch_overhead;
}

// A ping-pong that decides from the clock: each transfer's callback sends the next one back the
// other way until `deadline` has passed, then runs 1 ms of compute on the last receiver.
struct PingPong {
  Engine& engine;
  double deadline;
  double bytes;
  int transfers = 0;
  ActivityId last_compute = -1;

  void send(int src, int dst) {
    const ActivityId t = engine.transfer(src, dst, bytes);
    ++transfers;
    engine.then(t, [this, src, dst](ActivityId) {
      if (engine.now() < deadline) send(dst, src);
      else last_compute = engine.compute(Lane{dst, 0}, 1e-3);
    });
  }
};

}  // namespace

TEST_CASE("a clock-driven ping-pong takes its closed-form time on both backends", "[engine]") {
  for (Fidelity f : {Fidelity::analytical, Fidelity::flow}) {
    INFO(fidelity_name(f));
    Session session(two_nodes(f));
    const double bytes = 64.0 * 1048576;
    const double t1 = network_transfer_time(session.cluster(), session.collectives().params(), bytes);
    const double deadline = 4.5 * t1;   // transfers end at t1, 2 t1, ...: the fifth is the first past it
    auto engine = session.engine();
    PingPong pp{*engine, deadline, bytes};
    pp.send(0, 8);
    engine->run();
    CHECK(pp.transfers == 5);
    REQUIRE(pp.last_compute >= 0);
    // SimGrid rounds flow sizes to whole bytes and solves rates in doubles: 1e-6 covers both.
    const double eps = f == Fidelity::flow ? 1e-6 : 1e-12;
    CHECK(engine->start_time(pp.last_compute) == Approx(5 * t1).epsilon(eps));
    CHECK(engine->end_time(pp.last_compute) == Approx(5 * t1 + 1e-3).epsilon(eps));
  }
}

TEST_CASE("timers, lanes and late callbacks", "[engine]") {
  for (Fidelity f : {Fidelity::analytical, Fidelity::flow}) {
    INFO(fidelity_name(f));
    Session session(two_nodes(f));
    auto engine = session.engine();
    std::vector<std::pair<std::string, double>> log;
    const ActivityId a = engine->compute(Lane{0, 0}, 0.25);
    const ActivityId b = engine->compute(Lane{0, 0}, 0.5);   // same lane: runs after a
    const ActivityId t = engine->timer(1.0);
    engine->then(t, [&](ActivityId) {
      log.emplace_back("timer", engine->now());
      // `a` completed long ago: its callback still runs, at the current time.
      engine->then(a, [&](ActivityId) { log.emplace_back("late", engine->now()); });
      const ActivityId c = engine->compute(Lane{0, 0}, 0.125, {b});
      engine->then(c, [&](ActivityId) { log.emplace_back("c", engine->now()); });
    });
    engine->run();
    CHECK(engine->start_time(b) == 0.25);
    CHECK(engine->end_time(b) == 0.75);
    REQUIRE(log.size() == 3);
    CHECK(log[0] == std::pair<std::string, double>{"timer", 1.0});
    CHECK(log[1] == std::pair<std::string, double>{"late", 1.0});
    CHECK(log[2].first == "c");
    CHECK(log[2].second == Approx(1.125).epsilon(1e-12));
  }
}

TEST_CASE("concurrent transfers into one NIC share it in both fidelities", "[engine]") {
  // GPUs 0 and 1 of node 0 send to GPU 8 (node 1, rail 0): both flows end on node 1's rail-0 NIC.
  const double bytes = 256.0 * 1048576;
  for (Fidelity f : {Fidelity::analytical, Fidelity::flow}) {
    INFO(fidelity_name(f));
    Session session(two_nodes(f));
    const auto& c = session.cluster();
    const auto& p = session.collectives().params();
    const double alone = network_transfer_time(c, p, bytes);
    const double latency = alone - bytes / (c.nic_bandwidth() * p.network_efficiency[2]);
    auto engine = session.engine();
    const ActivityId x = engine->transfer(0, 8, bytes);
    const ActivityId y = engine->transfer(1, 8, bytes);
    engine->run();
    // Max-min: two equal flows on one bottleneck each get half of it. The analytical backend's fluid
    // approximation charges each transfer its contention-free rate (bytes over its whole duration,
    // latency included) and stretches it by the link's summed demand over its bandwidth,
    // 2 (alone - latency) / alone: one latency short of max-min.
    const double expected = f == Fidelity::flow ? 2 * (alone - latency) + latency : 2 * (alone - latency);
    const double eps = f == Fidelity::flow ? 1e-6 : 1e-12;  // SimGrid: whole bytes, double rates
    CHECK(engine->end_time(x) == Approx(expected).epsilon(eps));
    CHECK(engine->end_time(y) == Approx(expected).epsilon(eps));
    CHECK(engine->shares_links());  // so planners materialise symmetric peers' traffic for both
  }
}

TEST_CASE("an engine runs once and rejects unknown activities", "[engine]") {
  Session session(two_nodes(Fidelity::analytical));
  auto engine = session.engine();
  engine->compute(Lane{0, 0}, 1.0);
  CHECK_THROWS_AS(engine->compute(Lane{0, 0}, 1.0, {7}), std::logic_error);
  CHECK_THROWS_AS(engine->then(42, [](ActivityId) {}), std::logic_error);
  engine->run();
  CHECK_THROWS_AS(engine->run(), std::logic_error);
}

TEST_CASE("a callback that throws stops a flow run and reaches the caller", "[engine]") {
  Session session(two_nodes(Fidelity::flow));
  auto engine = session.engine();
  const ActivityId a = engine->compute(Lane{0, 0}, 1.0);
  engine->then(a, [](ActivityId) { throw InputError("stop here"); });
  CHECK_THROWS_WITH(engine->run(), "stop here");
}

TEST_CASE("an engine that keeps no history forgets completed activities but not their effects", "[engine]") {
  AnalyticalEngine engine(CollectiveTimer([](const CollectiveRequest&) { return CollectiveResult{0, "", ""}; }));
  engine.keep_history(false);
  // A chain of 100,000 one-second steps, each started from the previous one's callback.
  int left = 100000;
  std::function<void(ActivityId)> next = [&](ActivityId) {
    if (--left > 0) engine.then(engine.compute(Lane{0, 0}, 1.0), next);
  };
  const ActivityId first = engine.compute(Lane{0, 0}, 1.0);
  engine.then(first, next);
  engine.run();
  CHECK(left == 0);
  CHECK(engine.now() == 100000.0);
  CHECK(engine.activities() == 100000);
  CHECK_THROWS_AS(engine.start_time(first), std::logic_error);  // dropped: it had completed long ago
}

TEST_CASE("a transfer that speeds up when its link frees completes once, at its new end", "[engine]") {
  // Two transfers into one NIC: the short one ends first, the long one then runs alone and ends
  // early. Its first, later end must not complete it again: that moved the clock past the run's
  // last event and, once the record was forgotten, read freed memory (found by a capacity plan's
  // overloaded 4P1D run).
  Session session(two_nodes(Fidelity::analytical));
  auto engine = session.engine();
  engine->keep_history(false);
  const double mib = 1048576;
  const ActivityId small = engine->transfer(0, 8, 16 * mib);
  const ActivityId big = engine->transfer(1, 8, 256 * mib);
  int fired = 0, left = 5000;
  double chain_end = 0;
  // After the long transfer: 5,000 short steps (more than the 4,096 completions after which records
  // are forgotten) that end well before the long transfer's first estimate.
  std::function<void(ActivityId)> step = [&](ActivityId) {
    chain_end = engine->now();
    if (left-- > 0) engine->then(engine->compute(Lane{0, 0}, 1e-9), step);
  };
  engine->then(big, [&](ActivityId id) {
    ++fired;
    step(id);
  });
  (void)small;
  engine->run();
  CHECK(fired == 1);
  CHECK(left == -1);
  CHECK(engine->now() == Approx(chain_end).epsilon(1e-15));
}
