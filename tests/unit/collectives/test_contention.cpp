#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "sim/run/run_scenario.hpp"

using namespace foresight;

TEST_CASE("two concurrent collectives share an oversubscribed uplink as max-min predicts") {
  // Plain fat tree whose leaves have 63 down ports and 1 uplink (63:1): every flow leaving leaf 0
  // crosses the same 400 Gb/s uplink. Nodes 0-7 sit under leaf 0, node 8 onwards under leaf 1.
  const auto c = test::make_cluster("dgx-h100", 16, hw::FabricKind::fat_tree, 63.0);
  sim::CollectiveModel model(c, sim::NcclParams::defaults());
  const double S = 256.0 * 1048576;
  const sim::CollectiveRequest a{CollectiveOp::send_recv, S, {0, 64}};    // node 0 <-> node 8
  const sim::CollectiveRequest b{CollectiveOp::send_recv, S, {8, 72}};    // node 1 <-> node 9
  const double alone = test::flow_time(model, a);
  const double latency = 8.4e-6 + 14.0e-6 + 2e-6;  // NCCL p2p: ring Simple base + one network hop + launch
  const double wire = S / 0.94;              // Simple on the network delivers 47/50 of the link
  CHECK(alone == Approx(wire / 50e9 + latency).epsilon(1e-6));

  sim::FlowEngine engine(model);
  const auto ta = engine.collective(a, sim::Lane{0, 1});
  const auto tb = engine.collective(b, sim::Lane{8, 1});
  engine.run();
  // Max-min: both flows in each direction share the uplink (and downlink) equally, 25 GB/s each.
  const double shared = wire / 25e9 + latency;
  CHECK(engine.end_time(ta) - engine.start_time(ta) == Approx(shared).epsilon(1e-6));
  CHECK(engine.end_time(tb) - engine.start_time(tb) == Approx(shared).epsilon(1e-6));
}

TEST_CASE("flow simulations are deterministic for a seed") {
  auto scenario = sim::load_scenario_text(sim::default_scenario_text(), "default",
                                          {"cluster.nodes=8", "workload.ranks=64", "workload.sizes.min=1MiB",
                                           "workload.sizes.max=4MiB", "workload.ops=[all_reduce,all_to_all]"});
  const auto first = sim::run_scenario(scenario).document.dump();
  const auto second = sim::run_scenario(scenario).document.dump();
  CHECK(first == second);
}
