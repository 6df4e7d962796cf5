#include <catch2/catch.hpp>

#include <memory>

#include "helpers.hpp"

using namespace foresight;

namespace {

// Runs a plan as given (no latency) in the flow model and returns its simulated time.
double flow_plan_time(sim::CollectiveModel& model, sim::CollectivePlan plan) {
  for (auto& ph : plan.phases) ph.latency_s = 0;
  return test::flow_time(model, std::move(plan));
}

// The ring all-reduce NCCL runs step by step: 2(n-1) steps, in each every rank sends one S/n
// chunk to its successor, and a step starts when the previous one has finished everywhere.
sim::CollectivePlan stepwise_ring(const std::vector<int>& order, double S, double efficiency) {
  const int n = static_cast<int>(order.size());
  sim::CollectivePlan plan;
  for (int step = 0; step < 2 * (n - 1); ++step) {
    sim::Phase ph;
    for (int i = 0; i < n; ++i)
      ph.transfers.push_back({order[static_cast<size_t>(i)], order[static_cast<size_t>((i + 1) % n)], S / n, S / n / efficiency});
    plan.phases.push_back(ph);
  }
  return plan;
}

}  // namespace

TEST_CASE("one aggregated flow per ring edge takes as long as the step-by-step ring") {
  const double S = 64.0 * 1048576;
  const auto params = sim::NcclParams::defaults();
  SECTION("one NVSwitch node") {
    const auto c = test::make_cluster("dgx-h100", 1);
    sim::CollectiveModel model(c, params);
    const auto ranks = test::first_ranks(8);
    auto aggregated = sim::decompose({CollectiveOp::all_reduce, S, ranks}, sim::Algorithm::ring,
                                     sim::Protocol::simple, c, params);
    const double agg = flow_plan_time(model, aggregated);
    const double steps = flow_plan_time(model, stepwise_ring(ranks, S, params.nvlink_efficiency[2]));
    // Same bytes over the same links; only floating-point summation order differs.
    CHECK(agg == Approx(steps).epsilon(1e-6));
  }
  SECTION("two nodes, rail-aligned ring through the NICs") {
    const auto c = test::make_cluster("dgx-h100", 2);
    sim::CollectiveModel model(c, params);
    // One channel: node 0 in order 0..7, node 1 reversed, so both crossings use rail 7 then rail 0.
    const std::vector<int> order{0, 1, 2, 3, 4, 5, 6, 7, 15, 14, 13, 12, 11, 10, 9, 8};
    sim::CollectivePlan aggregated;
    sim::Phase ph;
    for (size_t i = 0; i < order.size(); ++i) {
      const int a = order[i], b = order[(i + 1) % order.size()];
      const double eff = c.same_domain(a, b) ? params.nvlink_efficiency[2] : params.network_efficiency[2];
      ph.transfers.push_back({a, b, 2.0 * 15 / 16 * S, 2.0 * 15 / 16 * S / eff});
    }
    aggregated.phases.push_back(ph);
    auto stepwise = stepwise_ring(order, S, 1.0);
    for (auto& step : stepwise.phases)
      for (auto& t : step.transfers)
        t.wire_bytes = t.payload_bytes / (c.same_domain(t.src, t.dst) ? params.nvlink_efficiency[2] : params.network_efficiency[2]);
    // Every step is limited by the slowest (NIC) edge, so the stepwise ring takes 2(n-1) NIC chunk
    // times, exactly what the aggregated NIC flow takes.
    CHECK(flow_plan_time(model, aggregated) == Approx(flow_plan_time(model, stepwise)).epsilon(1e-6));
  }
}
