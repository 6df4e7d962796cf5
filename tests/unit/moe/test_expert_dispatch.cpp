// The expert all-to-all plans: bytes against closed forms, hierarchical aggregation, and the two
// network models agreeing when nothing else runs.
#include <catch2/catch.hpp>

#include "../collectives/helpers.hpp"
#include "sim/collectives/plan_builder.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {

double payload_from(const CollectivePlan& plan, int src, bool remote_only, const hw::Cluster& c) {
  double b = 0;
  for (const auto& ph : plan.phases)
    for (const auto& t : ph.transfers)
      if (t.src == src && (!remote_only || !c.same_domain(t.src, t.dst))) b += t.payload_bytes;
  return b;
}

}  // namespace

TEST_CASE("NCCL dispatch: tokens x top_k x hidden x dtype leave a rank, less what stays local", "[moe][dispatch]") {
  const auto cluster = test::make_cluster("hgx-h800", 2);
  CollectiveModel model(cluster, NcclParams::defaults());
  const int n = 16;
  const double tokens = 4096, top_k = 8, hidden = 7168, dtype = 2;
  const CollectiveRequest req{CollectiveOp::all_to_all, tokens * top_k * hidden * dtype, test::first_ranks(n)};
  const auto plan = model.choose(req).plan;
  CHECK(payload_from(plan, 5, false, cluster) == Approx(tokens * top_k * hidden * dtype * (n - 1) / n));
}

TEST_CASE("DeepEP dispatch: one RDMA copy per remote node, forwarded over NVLink", "[moe][dispatch]") {
  const auto cluster = test::make_cluster("hgx-h800", 4);
  CollectiveModel model(cluster, NcclParams::defaults());
  const int N = 4, G = 8, n = N * G;
  const double S = 4096 * 7168 * 2.0, nodes = 2.5, ranks_per_node = 2.0;
  CollectiveRequest req{CollectiveOp::all_to_all, S, test::first_ranks(n), "hierarchical", "auto", nodes, ranks_per_node};
  const auto choice = model.choose(req);
  REQUIRE(choice.plan.algorithm == Algorithm::hierarchical);
  const double p = nodes / N, q = ranks_per_node / G;
  // Each rank sends S*p to each of the N-1 other nodes (RDMA), once per node however many of its
  // experts sit there.
  CHECK(payload_from(choice.plan, 3, true, cluster) == Approx((N - 1) * S * p));
  // Conservation: own-node NVLink, RDMA and NVLink forwarding, summed over ranks.
  CHECK(total_payload(choice.plan) == Approx(n * S * p * ((G - 1) * q + (N - 1) + (N - 1) * (G - 1) * q)));
  // Fewer bytes cross the network than NCCL's all-to-all of the same routed tokens (k = 8 copies).
  const CollectiveRequest nccl{CollectiveOp::all_to_all, S * 8, test::first_ranks(n)};
  CHECK(payload_from(model.choose(nccl).plan, 3, true, cluster) > payload_from(choice.plan, 3, true, cluster));
  // Flow (SimGrid) and analytical agree on it alone: the plan is symmetric, so max-min sharing gives
  // every flow exactly its share of the most loaded link, which is what the analytical model charges
  // (tolerance: SimGrid's floating-point clock).
  CHECK(test::flow_time(model, req) == Approx(model.estimate(req).time_s).epsilon(1e-6));
}

TEST_CASE("a plain all-to-all is not planned hierarchically", "[moe][dispatch]") {
  const auto cluster = test::make_cluster("hgx-h800", 2);
  CollectiveModel model(cluster, NcclParams::defaults());
  CollectiveRequest req{CollectiveOp::all_to_all, 1e6, test::first_ranks(16), "hierarchical"};
  CHECK_THROWS_WITH(model.choose(req), Catch::Contains("possible: direct"));
}
