// Mixture-of-experts training: FLOPs, routing imbalance, expert memory and the DeepSeek-V3 case.
#include <cmath>

#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "sim/run/session.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/training/model_math.hpp"
#include "sim/training/training_graph.hpp"
#include "sim/training/training_workload.hpp"

using namespace foresight;
using namespace foresight::sim;
using foresight::test::FlopCost;

namespace {

// 4 layers (the first dense), 8 experts of 256, top 2, one shared expert.
hw::ModelSpec small_moe() {
  hw::ModelSpec m = test::llama_model(4, 512, 8, 8, 1536, 1000);
  m.id = "test-moe";
  m.moe.experts = 8, m.moe.top_k = 2, m.moe.shared_experts = 1, m.moe.expert_ffn_hidden = 256;
  m.moe.first_dense_layers = 1;
  return m;
}

TrainingSpec moe_spec(int pp, int dp, int ep) {
  auto s = test::make_spec(small_moe(), 1, pp, dp, 1, 512, 8 * dp, 1);
  s.par.ep = ep;
  s.routing.fluctuation = "expected";
  return s;
}


}  // namespace

TEST_CASE("MoE GEMM FLOPs: dense part plus top_k routed and the shared experts per token", "[training][moe][flops]") {
  // Balanced routing (expected fluctuation): every rank's experts see their fair share, so the job
  // multiplies each token by the router, top_k routed experts and the shared expert: 6*N_active*T.
  // Exact up to double rounding (relative 1e-9).
  const auto s = moe_spec(2, 4, 4);
  FlopCost gemm_only;
  const double tokens = double(s.global_batch) * s.sequence_length;
  const ParamCounts c = count_params(s.model);
  CHECK(test::job_compute_seconds(s, gemm_only) == Approx(6.0 * c.matmul * tokens * 1e-12).epsilon(1e-9));
  // and the active count is dense layers + MoE layers with top_k + shared experts + router:
  const double h = 512, fe = 256, expert = 3 * h * fe, attn = 4 * h * h;
  const double dense_layer = attn + 3 * h * 1536, moe_layer = attn + h * 8 + (2 + 1) * expert;
  CHECK(c.matmul == Approx(dense_layer + 3 * moe_layer + 1000 * h));
  // Expert TP splits each expert's FFN and gathers etp ranks' tokens: the job's FLOPs do not change.
  auto etp = moe_spec(2, 4, 2);
  etp.par.etp = 2;
  CHECK(test::job_compute_seconds(etp, gemm_only) == Approx(6.0 * c.matmul * tokens * 1e-12).epsilon(1e-9));
}

TEST_CASE("routing imbalance: none when balanced, the closed form with one hot expert", "[training][moe]") {
  FlopCost gemm_only;
  auto s = moe_spec(1, 4, 4);
  const auto balanced = test::train(s, test::cluster_for(s), gemm_only, test::zero_timer());
  CHECK(balanced.moe.imbalance_s == 0.0);
  // Expert 0 weighs H, the others 1; rank 0 (experts 0-1) gets (H+1)/(H+7) of the 4096 assignments
  // of each microbatch and MoE layer, against 1/4 on average. Under a FLOP-linear cost each extra
  // token costs 6*h*(2*fe + fe) FLOPs (fc1 with gate, fc2; forward and both backward GEMMs).
  const double H = 9;
  s.routing.distribution = "histogram";
  s.routing.histogram = {H, 1, 1, 1, 1, 1, 1, 1};
  const auto hot = test::train(s, test::cluster_for(s), gemm_only, test::zero_timer());
  const double A = 512 * 4 * 2.0, extra = A * (H + 1) / (H + 7) - A / 4;
  const double instances = double(s.microbatches()) * 3;   // microbatches x MoE layers
  CHECK(hot.moe.imbalance_s == Approx(instances * extra * 6 * 512 * (2 * 256 + 256) * 1e-12).epsilon(1e-9));
  CHECK(hot.iteration_time_s - balanced.iteration_time_s == Approx(hot.moe.imbalance_s).epsilon(1e-9));
}

TEST_CASE("routing draws are deterministic for a seed", "[training][moe]") {
  FlopCost cost;
  cost.use_memory = true;
  auto s = moe_spec(2, 4, 4);
  s.routing.distribution = "zipf", s.routing.skew = 1.2, s.routing.fluctuation = "multinomial", s.routing.seed = 5;
  const auto a = test::train(s, test::cluster_for(s), cost, test::fake_timer());
  const auto b = test::train(s, test::cluster_for(s), cost, test::fake_timer());
  CHECK(a.iteration_time_s == b.iteration_time_s);
  CHECK(a.moe.imbalance_s > 0);
  s.routing.seed = 6;
  const auto c = test::train(s, test::cluster_for(s), cost, test::fake_timer());
  CHECK(c.iteration_time_s != a.iteration_time_s);
}

TEST_CASE("expert weights shard over EP, their optimizer state over expert DP", "[training][moe][memory]") {
  auto s = moe_spec(2, 4, 2);
  s.zero = 1;
  const ParamCounts c = count_params(s.model);
  // Stage 1 holds layers 2-3 (both MoE): 8/2 experts each.
  CHECK(stage_expert_params_per_gpu(s, 1) == Approx(2 * 4 * c.expert));
  CHECK(stage_expert_params_per_gpu(s, 0) == Approx(1 * 4 * c.expert));   // layer 0 dense, layer 1 MoE
  const auto r = test::train(s, test::cluster_for(s), FlopCost{}, test::zero_timer());
  const int st = r.memory.stage;
  const double P = stage_params_per_gpu(s, st), X = stage_expert_params_per_gpu(s, st);
  CHECK(r.memory.weights == Approx(2 * (P + X)));
  CHECK(r.memory.optimizer == Approx(12 * (P / 4 + X / 2)));   // dp 4, expert DP = 4/2
  // Expert TP 2 halves each GPU's expert weights; expert DP becomes 4/(2*2).
  s.par.etp = 2;
  CHECK(stage_expert_params_per_gpu(s, 1) == Approx(2 * 4 * c.expert / 2));
  const auto r2 = test::train(s, test::cluster_for(s), FlopCost{}, test::zero_timer());
  const double X2 = stage_expert_params_per_gpu(s, r2.memory.stage);
  CHECK(r2.memory.optimizer == Approx(12 * (stage_params_per_gpu(s, r2.memory.stage) / 4 + X2 / 1)));
}

TEST_CASE("an uneven pipeline split gives the first and last stage their own layer counts", "[training][parse]") {
  auto s = moe_spec(4, 1, 1);
  s.model.layers = 11;
  s.par.first_stage_layers = 2, s.par.last_stage_layers = 3;
  CHECK(s.layers_in_virtual_stage(0) == 2);
  CHECK(s.layers_in_virtual_stage(1) == 3);
  CHECK(s.layers_in_virtual_stage(2) == 3);
  CHECK(s.layers_in_virtual_stage(3) == 3);
}

TEST_CASE("DeepSeek-V3 on 2,048 H800: step time against the technical report", "[training][moe][scenario][catalog]") {
  // Report (arXiv:2412.19437 sec. 1): 180K H800 GPU hours per trillion tokens, i.e. 19.9 s per
  // 15360 x 4096-token step on 2,048 GPUs. Tolerance 35 %: the GPU hours average the whole run
  // (its smaller-batch start, restarts) where we time one final-batch step, and kernels are priced
  // by roofline (optimistic by about 20 % on untuned cases); the band catches gross errors (a
  // factor of two), not modelling detail. The per-case error is printed by bench_moe.
  Scenario sc = load_scenario(std::string(FORESIGHT_SOURCE_DIR) + "/scenarios/deepseek-v3-2048-h800.yaml");
  Session session(sc);
  const auto r = simulate_iteration(session, sc.workload_as<TrainingSpec>());
  const double reported = 180e3 * 3600.0 / 2048.0 * 15360.0 * 4096.0 / 1e12;
  CHECK(r.iteration_time_s == Approx(reported).epsilon(0.35));
  // Group-limited routing: at most 4 nodes per token.
  CHECK(r.moe.fan_out_nodes <= 4.0);
  CHECK(r.breakdown.exposed_in(ParallelDim::ep) > 0);
}

TEST_CASE("overlapped forward/backward pairs hide all-to-all time", "[training][moe][schedule]") {
  // All-to-alls as slow as the layer's compute (an alpha-beta line at 0.5 GB/s against FLOP-timed
  // GEMMs): pairing each steady-state forward with the next backward lets one pass compute while the
  // other's tokens travel, so less all-to-all time is exposed and the iteration is shorter, though
  // the pairs' longer warm-up adds bubble. Only the direction is asserted.
  FlopCost cost;
  auto s = moe_spec(4, 4, 4);
  s.global_batch = 4 * 32;
  const CollectiveTimer slow = [](const CollectiveRequest& r) {
    return CollectiveResult{10e-6 + r.bytes / 0.5e9, "test", "test"};
  };
  const auto plain = test::train(s, test::cluster_for(s), cost, slow);
  s.overlap_ep_comm = true;
  const auto paired = test::train(s, test::cluster_for(s), cost, slow);
  CHECK(paired.breakdown.exposed_in(ParallelDim::ep) < plain.breakdown.exposed_in(ParallelDim::ep));
  CHECK(paired.iteration_time_s < plain.iteration_time_s);
  // Same work either way.
  CHECK(paired.breakdown.compute == Approx(plain.breakdown.compute).epsilon(1e-9));
}

TEST_CASE("multi-token prediction adds its projection, one MoE layer and a second head per token", "[training][moe][flops]") {
  // GEMM FLOPs with one MTP module = the main model's 6*N_active*T plus 6*T times the module's
  // projection (2h x h), its layer's active weights and the shared output head (V x h) again.
  auto s = moe_spec(2, 4, 4);
  s.model.mtp_modules = 1;
  FlopCost gemm_only;
  const double tokens = double(s.global_batch) * s.sequence_length;
  const ParamCounts c = count_params(s.model);
  const double h = 512, attn = 4 * h * h, active_moe_layer = attn + h * 8 + 3 * (3 * h * 256);
  const double mtp = 2 * h * h + active_moe_layer + 1000 * h;
  CHECK(test::job_compute_seconds(s, gemm_only) == Approx(6.0 * (c.matmul + mtp) * tokens * 1e-12).epsilon(1e-9));
  // Its weights sit on the last stage.
  auto without = s;
  without.model.mtp_modules = 0;
  CHECK(stage_params_per_gpu(s, 1) - stage_params_per_gpu(without, 1) == Approx(c.mtp_dense));
  CHECK(stage_expert_params_per_gpu(s, 1) - stage_expert_params_per_gpu(without, 1) == Approx(2 * c.expert));
}

TEST_CASE("token dropping at capacity: the closed-form dropped share, and no negative imbalance", "[training][moe]") {
  // Expert 0 weighs 9 of 16 shares of the 4096 assignments per layer and microbatch; capacity
  // 1.25 x 4096/8 = 640 keeps 640 of its 2304: 1664/4096 = 40.6 % dropped. The balanced reference
  // spreads only the kept tokens, so what remains imbalanced is never priced below zero.
  FlopCost cost;
  auto s = moe_spec(1, 4, 4);
  s.model.moe.router = hw::RouterSpec{1.25, true};
  s.routing.distribution = "histogram";
  s.routing.histogram = {9, 1, 1, 1, 1, 1, 1, 1};
  const auto r = test::train(s, test::cluster_for(s), cost, test::zero_timer());
  CHECK(r.moe.dropped_fraction == Approx(1664.0 / 4096).epsilon(1e-12));
  CHECK(r.moe.imbalance_s >= 0);
  // Rank 0 keeps 640 + 256 tokens against the kept mean (4096 - 1664) / 4 = 608 per rank.
  CHECK(r.moe.routed_compute_s / r.moe.balanced_compute_s == Approx(896.0 / 608).epsilon(1e-9));
}
