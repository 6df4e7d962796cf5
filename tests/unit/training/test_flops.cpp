// FLOP accounting: what the planner issues must add up to the closed forms.
#include <cmath>

#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "hwmodels/catalog/catalog.hpp"
#include "sim/training/model_math.hpp"
#include "sim/training/training_graph.hpp"

using namespace foresight;
using namespace foresight::sim;
using foresight::test::FlopCost;

TEST_CASE("GEMM FLOPs per iteration equal 6*N_matmul*tokens", "[training][flops]") {
  // GQA + SwiGLU + untied, split over TP, PP, DP and CP: every weight multiplies every token once
  // forward and twice backward. Exact up to double rounding (relative 1e-9).
  auto s = test::make_spec(test::llama_model(8, 1024, 16, 4, 2816, 32000), 2, 2, 2, 2, 2048, 16, 2);
  FlopCost gemm_only;
  const double tokens = double(s.global_batch) * s.sequence_length;
  const double expected = 6.0 * count_params(s.model).matmul * tokens * 1e-12;
  CHECK(test::job_compute_seconds(s, gemm_only) == Approx(expected).epsilon(1e-9));
}

TEST_CASE("attention FLOPs equal the causal 2*L*s*h*T forward, 2.5x backward", "[training][flops]") {
  // Context parallelism splits each rank's causal share into a local block and a remote part; the
  // sum must still be the full causal count. Exact up to rounding.
  auto s = test::make_spec(test::llama_model(4, 1024, 16, 4, 2816, 32000), 2, 1, 1, 4, 4096, 4, 1);
  FlopCost attn_only;
  attn_only.use_gemm = false;
  attn_only.use_attention = true;
  const double tokens = double(s.global_batch) * s.sequence_length;
  const double fwd = 2.0 * s.model.layers * double(s.sequence_length) * s.model.hidden * tokens;
  CHECK(test::job_compute_seconds(s, attn_only) == Approx(3.5 * fwd * 1e-12).epsilon(1e-9));
  // The reported model-FLOP convention counts attention as 3x forward.
  CHECK(model_flops_per_iteration(s) == Approx(6.0 * count_params(s.model).matmul * tokens + 3.0 * fwd).epsilon(1e-12));
}

TEST_CASE("Megatron Eq. 3 equals the GEMM FLOPs of unfused attention with full recomputation", "[training][flops]") {
  // Eq. 3 (Narayanan et al. 2021) counts 4 forward passes of every layer (recompute) with
  // non-causal QK^T/PV GEMMs and 3 of the logits layer: exactly what the planner issues for the
  // SC21 setup. Exact up to rounding.
  auto s = test::make_spec(test::gpt_model(8, 2048, 16, 51200), 2, 2, 2, 1, 2048, 32, 1, "interleaved", 2);
  s.recompute = "full";
  s.attention_kernel = "unfused";
  FlopCost gemm_only;
  CHECK(test::job_compute_seconds(s, gemm_only) == Approx(megatron_eq3_flops(s) * 1e-12).epsilon(1e-9));
  // And the formula itself, evaluated by hand for this spec: 96*B*s*l*h^2*(1 + s/6h + V/16lh).
  const double B = 32, sl = 2048, l = 8, h = 2048, V = 51200;
  CHECK(megatron_eq3_flops(s) == Approx(96 * B * sl * l * h * h * (1 + sl / (6 * h) + V / (16 * l * h))));
}

TEST_CASE("parameter counts match the published sizes of catalog models", "[training][flops][catalog]") {
  // Published sizes are rounded or truncated to their last printed digit ("1.7B" is 1.65B, "7B" is
  // 6.74B, "405B" is 405.85B), so the tolerance is one unit of that digit. GPT-family counts also include learned position
  // embeddings (2048*h), which the planner does not model, so they are added here.
  const auto& cat = hw::Catalog::builtin();
  for (const char* id : {"gpt3-175b", "megatron-1.7b", "megatron-18.4b", "megatron-76.1b", "megatron-310.1b",
                         "megatron-1t", "llama3-70b", "llama3-405b", "llama2-7b", "llama2-70b", "qwen3-8b", "qwen3-32b"}) {
    INFO(id);
    const auto& m = cat.model(id);
    double unit = 1;
    while (std::fmod(m.published_params, unit * 10) < 0.5 && unit < m.published_params) unit *= 10;
    const double positions = m.norm == "layernorm" ? 2048.0 * m.hidden : 0.0;
    CHECK(std::fabs(count_params(m).total + positions - m.published_params) <= unit);
  }
}

TEST_CASE("mixture-of-experts counts: total and active parameters match the published sizes", "[training][flops][moe]") {
  // Same rule as above (one unit of the last printed digit: "37B" is 37.55B counting both embedding
  // tables, "3.3B" is 3.35B). Active parameters are what one token uses: embeddings, attention, the
  // router, top_k routed and the shared experts, and the first dense layers.
  const auto& cat = hw::Catalog::builtin();
  auto within_last_digit = [](double counted, double published) {
    double unit = 1;
    while (std::fmod(published, unit * 10) < 0.5 && unit < published) unit *= 10;
    return std::fabs(counted - published) <= unit;
  };
  for (const char* id : {"deepseek-v3", "qwen3-235b-a22b", "qwen3-30b-a3b", "mixtral-8x7b", "mixtral-8x22b"}) {
    INFO(id);
    const auto& m = cat.model(id);
    REQUIRE(m.is_moe());
    const ParamCounts c = count_params(m);
    CHECK(within_last_digit(c.total, m.published_params));
    CHECK(within_last_digit(c.active, m.published_active_params));
    CHECK(c.active < c.total);
  }
  // gpt-oss-120b: the total (117B; 116.79B counted, its biases not modelled); OpenAI's active
  // figure follows another convention (catalog comment) and is not recorded.
  const ParamCounts oss = count_params(cat.model("gpt-oss-120b"));
  CHECK(within_last_digit(oss.total, cat.model("gpt-oss-120b").published_params));
  CHECK(oss.total == Approx(116.789e9).epsilon(1e-4));
  // A dense model's active count is its total.
  const ParamCounts dense = count_params(cat.model("llama3-70b"));
  CHECK(dense.active == dense.total);
  // Closed form for one MoE layer stack, by hand: Mixtral 8x7B's experts are 3*h*f each, 8 per layer.
  const auto& mx = cat.model("mixtral-8x7b");
  const ParamCounts c = count_params(mx);
  const double expert = 3.0 * 4096 * 14336;
  CHECK(c.total - c.active == Approx(32 * 6 * expert));  // 6 experts a token does not use, in 32 layers
}
