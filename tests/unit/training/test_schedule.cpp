// Iteration time and pipeline bubbles against closed forms, with communication switched off.
#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "hwmodels/cost/roofline_cost_model.hpp"
#include "sim/training/layer_ops.hpp"
#include "sim/training/model_math.hpp"
#include "sim/training/training_graph.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {

hw::GpuSpec a100_like() {
  hw::GpuSpec g;
  g.id = "a100-test";
  g.architecture = "ampere";
  g.dense_flops = {{"bf16", 312e12}, {"fp16", 312e12}, {"fp32", 19.5e12}};
  g.memory_bandwidth = 2.039e12;
  g.memory_capacity = 80e9;
  return g;
}

double sum_template(const WorkTemplate& t, const hw::ComputeCostModel& c) {
  double s = 0;
  for (const auto& w : t) {
    if (w.kind == WorkItem::Kind::gemm) s += c.gemm(w.gemm).seconds;
    if (w.kind == WorkItem::Kind::attention) s += c.attention(w.attn).seconds;
    if (w.kind == WorkItem::Kind::memory) s += c.memory_op(w.mem).seconds;
  }
  return s;
}

}  // namespace

TEST_CASE("pp=1 dp=1: iteration time is the sum of op times", "[training][schedule]") {
  // One GPU, nothing to overlap: the iteration is every op of every microbatch plus the optimizer,
  // back to back. Exact up to rounding.
  auto s = test::make_spec(test::llama_model(4, 1024, 16, 4, 2816, 32000), 1, 1, 1, 1, 2048, 4, 1);
  hw::RooflineCostModel cost(a100_like());
  const auto r = test::train(s, test::cluster_for(s), cost, test::zero_timer(), nullptr, nullptr);
  const MicrobatchWork w = build_microbatch_work(s);
  const double per_mb = sum_template(w.embed_fwd, cost) + s.model.layers * sum_template(w.layer_fwd, cost) +
                        sum_template(w.head_fwd, cost) + sum_template(w.head_bwd, cost) +
                        s.model.layers * sum_template(w.layer_bwd, cost) + sum_template(w.embed_bwd, cost);
  const double params = count_params(s.model).total;
  const double optimizer = cost.memory_op({"adam", 34.0 * params, 12.0 * params}).seconds;
  CHECK(r.iteration_time_s == Approx(s.microbatches() * per_mb + optimizer).epsilon(1e-9));
  CHECK(r.breakdown.bubble == Approx(0).margin(1e-12));
  CHECK(r.breakdown.optimizer == Approx(optimizer).epsilon(1e-12));

  // With GEMM-only costs the same run is exactly 6*N_matmul*tokens of work at 1 TFLOP/s.
  test::FlopCost gemm_only;
  const auto g = test::train(s, test::cluster_for(s), gemm_only, test::zero_timer(), nullptr, nullptr);
  const double tokens = double(s.global_batch) * s.sequence_length;
  CHECK(g.iteration_time_s == Approx(6.0 * count_params(s.model).matmul * tokens * 1e-12).epsilon(1e-9));
}

TEST_CASE("pipeline bubble fraction matches the closed forms", "[training][schedule]") {
  // Equal stages (2 layers each), zero-cost communication, costs = GEMM FLOPs. The logits GEMM
  // (vocab 64 vs 2 layers of 12*h^2) makes the last stage 0.26 % longer, hence 1 % tolerance.
  test::FlopCost cost;
  const int pp = 4, m = 8;
  SECTION("1F1B: (pp-1)/(m+pp-1)") {
    auto s = test::make_spec(test::gpt_model(8, 1024, 16, 64), 1, pp, 1, 1, 1024, m, 1, "1f1b");
    const auto r = test::train(s, test::cluster_for(s), cost, test::zero_timer(), nullptr, nullptr);
    CHECK(r.breakdown.bubble / r.iteration_time_s == Approx(double(pp - 1) / (m + pp - 1)).epsilon(0.01));
  }
  SECTION("GPipe: same fraction, more memory") {
    auto s = test::make_spec(test::gpt_model(8, 1024, 16, 64), 1, pp, 1, 1, 1024, m, 1, "gpipe");
    const auto r = test::train(s, test::cluster_for(s), cost, test::zero_timer(), nullptr, nullptr);
    CHECK(r.breakdown.bubble / r.iteration_time_s == Approx(double(pp - 1) / (m + pp - 1)).epsilon(0.01));
  }
  SECTION("interleaved, vpp=2: (pp-1)/(vpp*m+pp-1)") {
    auto s = test::make_spec(test::gpt_model(16, 1024, 16, 64), 1, pp, 1, 1, 1024, m, 1, "interleaved", 2);
    const auto r = test::train(s, test::cluster_for(s), cost, test::zero_timer(), nullptr, nullptr);
    CHECK(r.breakdown.bubble / r.iteration_time_s == Approx(double(pp - 1) / (2 * m + pp - 1)).epsilon(0.01));
  }
}

TEST_CASE("doubling dp with fixed per-replica batch leaves compute time unchanged", "[training][schedule]") {
  // Per-rank work depends only on the per-replica batch; only DP communication may change. Exact.
  hw::RooflineCostModel cost(a100_like());
  auto s2 = test::make_spec(test::gpt_model(8, 2048, 16, 51200), 2, 2, 2, 1, 2048, 16, 1);
  auto s4 = test::make_spec(test::gpt_model(8, 2048, 16, 51200), 2, 2, 4, 1, 2048, 32, 1);
  const auto r2 = test::train(s2, test::cluster_for(s2), cost, test::fake_timer(), nullptr, nullptr);
  const auto r4 = test::train(s4, test::cluster_for(s4), cost, test::fake_timer(), nullptr, nullptr);
  CHECK(r4.breakdown.compute == Approx(r2.breakdown.compute).epsilon(1e-12));
  CHECK(r4.tokens_per_s == Approx(2 * r2.tokens_per_s).epsilon(0.05));
}

TEST_CASE("breakdown adds up to the iteration time", "[training][schedule]") {
  // Attribution partitions the reported rank's timeline; exact up to rounding.
  hw::RooflineCostModel cost(a100_like());
  auto s = test::make_spec(test::llama_model(8, 2048, 16, 8, 5632, 32000), 4, 2, 2, 2, 4096, 16, 1);
  s.par.sequence_parallel = true;
  s.zero = 1;
  s.overlap_dp_grad_reduce = false;
  const auto r = test::train(s, test::cluster_for(s), cost, test::fake_timer(), nullptr, nullptr);
  const auto& b = r.breakdown;
  CHECK(b.total() ==
        Approx(r.iteration_time_s).epsilon(1e-9));
  CHECK(b.exposed_in(ParallelDim::tp) > 0);
  CHECK(b.exposed_in(ParallelDim::dp) > 0);   // gradient reduction deliberately not overlapped
  CHECK(b.bubble > 0);
}

namespace {

// One transformer layer per stage and a two-token vocabulary (the logits GEMM is 1/4096 of a
// layer), timed by GEMM FLOPs only with free communication: per layer and microbatch F = 1 unit,
// the full backward B = 2 (input and weight gradients), the weight gradient W = 1.
struct PipelineRun {
  double iteration_s = 0, unit_s = 0, busy_s = 0;
};
PipelineRun run_pipeline(const std::string& schedule, int pp, int m) {
  auto s = foresight::test::make_spec(foresight::test::llama_model(pp, 1024, 8, 8, 4096, 2), 1, pp, 1, 1, 256, m, 1);
  s.schedule = schedule;
  foresight::test::FlopCost gemm_only;
  foresight::sim::TaskGraph g;
  std::vector<foresight::sim::TaskTiming> t;
  const auto r = foresight::test::train(s, foresight::test::cluster_for(s), gemm_only, foresight::test::zero_timer(), &g, &t);
  PipelineRun out;
  out.iteration_s = r.iteration_time_s;
  const double layer_params = foresight::sim::count_params(s.model).layer_matmul;
  out.unit_s = 2.0 * 256 * layer_params * 1e-12;
  for (size_t i = 0; i < g.tasks().size(); ++i)
    if (g.tasks()[i].rank == r.reported_rank && g.tasks()[i].kind == foresight::sim::Task::Kind::compute)
      out.busy_s += t[i].end_s - t[i].start_s;
  return out;
}

}  // namespace

TEST_CASE("DualPipe's bubble against the paper's closed form, and 1F1B's", "[training][schedule][dualpipe]") {
  // DeepSeek-V3 report Table 2: 1F1B idles (PP-1)(F+B); DualPipe (PP/2-1)(F&B + B - 3W), where
  // with nothing to overlap F&B = F + B. In units: 1F1B (PP-1)*3, DualPipe (PP/2-1)*2.
  // Tolerance 1e-3: the logits GEMM of the 2-token vocabulary on the end stages.
  for (int pp : {4, 8}) {
    INFO("pp " << pp);
    const int m = 2 * pp + 4;
    const auto one = run_pipeline("1f1b", pp, m);
    CHECK(one.busy_s == Approx(m * 3 * one.unit_s).epsilon(1e-3));
    CHECK(one.iteration_s - one.busy_s == Approx((pp - 1) * 3 * one.unit_s).epsilon(1e-3));
    const auto dual = run_pipeline("dualpipe", pp, m);
    CHECK(dual.busy_s == Approx(m * 3 * dual.unit_s).epsilon(1e-3));
    CHECK(dual.iteration_s - dual.busy_s == Approx((pp / 2 - 1) * 2 * dual.unit_s).epsilon(1e-3));
  }
}

TEST_CASE("DualPipe keeps PP+1 microbatches of activations in flight, 1F1B PP", "[training][schedule][dualpipe]") {
  // Table 2's activation column, in chunks of one stage's layers: the busiest rank holds PP+1
  // (DualPipe counts the two half-size directions together) against 1F1B's PP.
  for (int pp : {4, 8}) {
    INFO("pp " << pp);
    const int m = 2 * pp + 4;
    const auto dual = foresight::sim::pipeline_schedule("dualpipe", pp, 1, m);
    const auto one = foresight::sim::pipeline_schedule("1f1b", pp, 1, m);
    const std::vector<std::vector<int>> one_layer(size_t(pp), std::vector<int>{1, 1});
    const auto peak_dual = foresight::sim::peak_inflight_layers(dual, one_layer);
    const auto peak_one = foresight::sim::peak_inflight_layers(one, one_layer);
    CHECK(*std::max_element(peak_one.begin(), peak_one.end()) == pp);
    CHECK(*std::max_element(peak_dual.begin(), peak_dual.end()) == pp + 1);
  }
}
