// Measured MoE layers (AIConfigurator's `moe` tables): only the exact shape and split answer, the
// token axis interpolates, and fp8 queries take the block-scaled table first.
#include <catch2/catch.hpp>

#include <cmath>

#include "hwmodels/cost/calibrated_cost_model.hpp"

using namespace foresight::hw;

namespace {

KernelTable moe_table(const std::string& dtype, int64_t moe_ep, double scale) {
  KernelTable t;
  t.op = "moe";
  t.family = "test";
  t.dtype = dtype;
  t.keys = {{"hidden", 4096}, {"inter", 1536}, {"top_k", 8}, {"experts", 128}, {"moe_tp", 1}, {"moe_ep", moe_ep}};
  t.axes = {"tokens"};
  t.values = {{1, 16, 256}};
  t.seconds = {10e-6 * scale, 40e-6 * scale, 400e-6 * scale};
  return t;
}

}  // namespace

TEST_CASE("routed experts come from the measured table of exactly their shape", "[hwmodels][moe]") {
  Profile p;
  p.name = "moe-test";
  p.tables = {moe_table("fp8", 4, 1.0), moe_table("fp8_block", 4, 2.0), moe_table("bf16", 8, 3.0)};
  CalibratedCostModel cost(p, 1e15, 3e12);
  RoutedExpertsQuery q;
  q.hidden = 4096, q.inter = 1536, q.top_k = 8, q.experts = 128, q.moe_tp = 1, q.moe_ep = 4, q.dtype = "fp8";
  q.tokens = 16;
  auto e = cost.routed_experts(q);
  REQUIRE(e);
  CHECK(e->seconds == Approx(80e-6));   // the block-scaled table answers fp8 first
  CHECK_FALSE(e->extrapolated);
  // Between grid points: log-log interpolation, exact for the power law 10 us * tokens^0.5 between 1 and 16.
  q.tokens = 4;
  CHECK(cost.routed_experts(q)->seconds == Approx(2 * 10e-6 * 2).epsilon(1e-9));
  // Past the largest measured count, time grows with the tokens (flagged).
  q.tokens = 512;
  e = cost.routed_experts(q);
  CHECK(e->seconds == Approx(2 * 800e-6));
  CHECK(e->extrapolated);
  // Another split, expert count or dtype without a table: no answer (the caller prices GEMMs).
  q.tokens = 16;
  q.moe_ep = 2;
  CHECK_FALSE(cost.routed_experts(q));
  q.moe_ep = 4, q.experts = 64;
  CHECK_FALSE(cost.routed_experts(q));
  q.experts = 128, q.dtype = "bf16";
  CHECK_FALSE(cost.routed_experts(q));   // the bf16 table is for ep 8
  q.moe_ep = 8;
  CHECK(cost.routed_experts(q)->seconds == Approx(120e-6));
}
