#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace foresight;
using sim::Algorithm;
using foresight::CollectiveOp;
using sim::Protocol;

namespace {
const sim::NcclParams kParams = sim::NcclParams::defaults();
constexpr double GiB = 1073741824.0;
}  // namespace

TEST_CASE("every algorithm conserves the bytes its closed form moves") {
  const auto c = test::make_cluster("dgx-h100", 4);
  const int n = 32;
  const double S = 64.0 * 1048576;
  sim::CollectiveRequest ar{CollectiveOp::all_reduce, S, test::first_ranks(n)};
  // Any ring or spanning-tree all-reduce moves 2(n-1)S in total; so does reduce-scatter + all-reduce + all-gather.
  for (auto a : {Algorithm::ring, Algorithm::tree, Algorithm::hierarchical})
    CHECK(sim::total_payload(sim::decompose(ar, a, Protocol::simple, c, kParams)) == Approx(2.0 * (n - 1) * S));
  sim::CollectiveRequest ag{CollectiveOp::all_gather, S, test::first_ranks(n)};
  CHECK(sim::total_payload(sim::decompose(ag, Algorithm::ring, Protocol::simple, c, kParams)) == Approx((n - 1) * S));
  sim::CollectiveRequest a2a{CollectiveOp::all_to_all, S, test::first_ranks(n)};
  CHECK(sim::total_payload(sim::decompose(a2a, Algorithm::direct, Protocol::simple, c, kParams)) == Approx((n - 1) * S));
  sim::CollectiveRequest bc{CollectiveOp::broadcast, S, test::first_ranks(n)};
  CHECK(sim::total_payload(sim::decompose(bc, Algorithm::ring, Protocol::simple, c, kParams)) == Approx((n - 1) * S));
  const auto node = test::make_cluster("dgx-h100", 1);
  sim::CollectiveRequest nv{CollectiveOp::all_reduce, S, test::first_ranks(8)};
  // NVLS: each GPU pushes S(1+1/n) into the switch and receives the same back.
  CHECK(sim::total_payload(sim::decompose(nv, Algorithm::nvls, Protocol::simple, node, kParams)) ==
        Approx(2.0 * 8 * S * (1.0 + 1.0 / 8)));
}

TEST_CASE("single-node ring all-reduce equals its closed form in both fidelities") {
  const auto c = test::make_cluster("dgx-h100", 1);
  sim::CollectiveModel model(c, kParams);
  const double S = GiB;
  sim::CollectiveRequest req{CollectiveOp::all_reduce, S, test::first_ranks(8), "ring", "simple"};
  // Each GPU sends 2(n-1)/n S over its 450 GB/s NVLink at Simple's 370/450 efficiency, plus
  // NCCL's ring latency 8.4 us + 2(n-1) x 3.4 us and one 2 us kernel launch.
  const double expected = 2.0 * 7 / 8 * S / 370e9 + 8.4e-6 + 14 * 3.4e-6 + 2e-6;
  CHECK(model.estimate(req).time_s == Approx(expected).epsilon(1e-9));
  // SimGrid rounds flow sizes to whole bytes and solves rates in doubles: 1e-6 covers both.
  CHECK(test::flow_time(model, req) == Approx(expected).epsilon(1e-6));
}

TEST_CASE("two-node tree all-reduce equals its closed form in both fidelities") {
  const auto c = test::make_cluster("dgx-h100", 2);
  sim::CollectiveModel model(c, kParams);
  const double S = GiB;
  sim::CollectiveRequest req{CollectiveOp::all_reduce, S, test::first_ranks(16), "tree", "simple"};
  // Eight trees (one per local position) each carry S/8. Inside a node every GPU relays 14 of the
  // 16 chain shares (it is leader once and chain end once): 1.75 S on NVLink. Each NIC carries one
  // tree's S/8 at 47/50 of 50 GB/s. NVLink is the bottleneck.
  const double nvlink = 1.75 * S / 370e9;
  const double nic = S / 8 / (50e9 * 0.94);
  REQUIRE(nvlink > nic);
  const double latency = 8.4e-6 + 2 * (7 * 4.0e-6 + 1 * 14.0e-6) + 2e-6;  // tree steps + kernel launch
  CHECK(model.estimate(req).time_s == Approx(nvlink + latency).epsilon(1e-9));
  CHECK(test::flow_time(model, req) == Approx(nvlink + latency).epsilon(1e-6));
}

TEST_CASE("flow and analytical agree on contention-free collectives") {
  const auto c = test::make_cluster("dgx-h100", 8);
  sim::CollectiveModel model(c, kParams);
  for (auto op : {CollectiveOp::all_reduce, CollectiveOp::all_gather, CollectiveOp::reduce_scatter,
                  CollectiveOp::broadcast, CollectiveOp::send_recv}) {
    for (int n : {8, 64}) {
      sim::CollectiveRequest req{op, 256.0 * 1048576, test::first_ranks(n), n == 8 || op != CollectiveOp::all_reduce ? "auto" : "ring"};
      INFO(op_name(op) << " on " << n);
      // Ring edges never share a link on a non-blocking rail-optimized fabric, so max-min sharing
      // reduces to each flow's own bottleneck: agreement to SimGrid's double precision.
      CHECK(test::flow_time(model, req) == Approx(model.estimate(req).time_s).epsilon(1e-6));
    }
  }
}

TEST_CASE("auto picks what NCCL's tuner picks on one H100 node") {
  const auto c = test::make_cluster("dgx-h100", 1);
  sim::CollectiveModel model(c, kParams);
  auto pick = [&](double bytes) {
    return model.estimate({CollectiveOp::all_reduce, bytes, test::first_ranks(8)}).algorithm;
  };
  // nccl_notes.md: RING/LL up to about 1 MiB, NVLS/SIMPLE from 2 MiB on an 8-GPU NVSwitch node.
  CHECK(pick(64 * 1024.0) == "ring");
  CHECK(pick(512 * 1024.0) == "ring");
  CHECK(pick(4.0 * 1048576) == "nvls");
  CHECK(pick(GiB) == "nvls");
  CHECK_THROWS_WITH(model.estimate({CollectiveOp::all_reduce, GiB, test::first_ranks(8), "tree"}),
                    Catch::Contains("'tree' cannot run all_reduce"));
}

TEST_CASE("large phases (mailbox transport) agree with the analytical model too") {
  // 4,096 GPUs: a ring phase has 8,192 transfers, above the executor's sendto limit of 2,048.
  const auto c = test::make_cluster("dgx-h100", 512);
  sim::CollectiveModel model(c, kParams);
  sim::CollectiveRequest req{CollectiveOp::all_reduce, 64.0 * 1048576, test::first_ranks(4096), "ring", "simple"};
  REQUIRE(model.choose(req).plan.phases.front().transfers.size() > 2048);
  // Non-blocking rail-optimized fabric, rail-aligned ring: no shared link, so max-min equals each
  // flow's own bottleneck (1e-6 for SimGrid's byte rounding).
  CHECK(test::flow_time(model, req) == Approx(model.estimate(req).time_s).epsilon(1e-6));
}
