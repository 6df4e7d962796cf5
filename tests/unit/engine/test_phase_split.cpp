// Splitting a phase into independent components simulated apart gives the time of simulating it
// whole; identical components are simulated once.
#include <catch2/catch.hpp>

#include <numeric>

#include "../hwmodels/helpers.hpp"
#include "sim/collectives/collective_model.hpp"
#include "sim/collectives/decompose.hpp"
#include "sim/engine/flow/flow_engine.hpp"
#include "sim/engine/flow/phase_split.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {

std::vector<int> first(int n) {
  std::vector<int> r(static_cast<size_t>(n));
  std::iota(r.begin(), r.end(), 0);
  return r;
}

}  // namespace

TEST_CASE("components, identical ones and groups of a tree all-reduce phase", "[engine][flow]") {
  const auto c = test::make_cluster("dgx-h100", 64);   // 512 GPUs, 8 rails
  const auto params = NcclParams::defaults();
  const auto plan = decompose({CollectiveOp::all_reduce, 1 << 30, first(512)}, Algorithm::tree, Protocol::simple, c, params);
  const auto& transfers = plan.phases.at(0).transfers;
  const auto split = flow::split_phase(transfers, c, 4);
  // Each NVLink domain's chains are one component, all 64 alike; the inter-node trees use
  // disjoint NIC and leaf links per rail (at least 8 more components, told apart by ECMP).
  CHECK(split.components >= 64 + 8);
  CHECK(split.distinct <= split.components - 63);
  REQUIRE(split.groups.size() == 4);
  size_t kept = 0, network_kept = 0;
  for (const auto& g : split.groups)
    for (const auto& t : g) ++kept, network_kept += !c.same_domain(t.src, t.dst);
  size_t network = 0;
  for (const auto& t : transfers) network += !c.same_domain(t.src, t.dst);
  // One domain's chains stand for all 64; at most the network transfers remain besides them.
  CHECK(kept - network_kept == (transfers.size() - network) / 64);
  CHECK(network_kept <= network);
}

TEST_CASE("a large phase simulated in parts takes the time of the whole", "[engine][flow]") {
  // 8,192 GPUs: the tree phase has more than 4,096 transfers, so alone it is split; with a timer
  // running beside it, it is not alone and runs as one simulation. The timer uses no link.
  const auto c = test::make_cluster("dgx-h100", 1024);
  CollectiveModel model(c, NcclParams::defaults());
  const CollectiveRequest req{CollectiveOp::all_reduce, 1 << 30, first(8192), "tree", "simple"};
  FlowEngine alone(model);
  const auto a = alone.collective(req);
  alone.run();
  FlowEngine accompanied(model);
  const auto b = accompanied.collective(req);
  accompanied.timer(1.0);
  accompanied.run();
  // The solver may round the two runs differently in the last bit.
  CHECK(alone.duration(a) == Approx(accompanied.duration(b)).epsilon(1e-12));
  CHECK(alone.duration(a) == Approx(model.estimate(req).time_s).epsilon(0.5));  // same order as analytical
}
