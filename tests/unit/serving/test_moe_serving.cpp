// Mixture-of-experts serving: expert weights per GPU, the grouped expert GEMM of a step against
// the closed form of how many experts its tokens reach, and parse errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "helpers.hpp"
#include "sim/model/param_counts.hpp"
#include "sim/run/session.hpp"
#include "sim/serving/iteration_cost.hpp"
#include "sim/serving/replica_memory.hpp"
#include "sim/serving/serving_spec.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {

std::string qwen_yaml(int tp, int ep) {
  return "name: moe-serving\nseed: 1\nfidelity: analytical\ncluster: {system: dgx-h100, nodes: 1}\n"
         "model: qwen3-235b-a22b\nserving:\n  engine: trtllm\n  precision: fp8\n  kv_dtype: fp8\n"
         "  parallelism: {tp: " + std::to_string(tp) + ", ep: " + std::to_string(ep) + "}\n"
         "  workload: {requests: 8, arrivals: {kind: closed_loop, concurrency: 4}, input_tokens: {dist: fixed, value: 256}, "
         "output_tokens: {dist: fixed, value: 16}}\n";
}

// Records the GEMMs a step prices; everything takes no time.
struct RecordingCost : hw::ComputeCostModel {
  mutable std::vector<hw::GemmQuery> gemms;
  hw::Estimate gemm(const hw::GemmQuery& q) const override {
    gemms.push_back(q);
    return {0.0, "test"};
  }
  hw::Estimate attention(const hw::AttentionQuery&) const override { return {0.0, "test"}; }
  hw::Estimate memory_op(const hw::MemoryOpQuery&) const override { return {0.0, "test"}; }
  std::string provenance() const override { return "recording"; }
};

}  // namespace

TEST_CASE("MoE weights per GPU: experts over ep, each over tp/ep, the rest over tp", "[serving][moe]") {
  // Summed over the replica's GPUs the shards give the whole model once, less the second
  // vocabulary table (replicas hold max(embedding, output) per stage) and the final norm.
  for (auto [tp, ep] : {std::pair{4, 4}, std::pair{4, 1}, std::pair{8, 2}}) {
    INFO("tp " << tp << " ep " << ep);
    const auto sc = load_scenario_text(qwen_yaml(tp, ep), "moe.yaml");
    const auto& spec = sc.workload_as<ServingSpec>();
    const auto mem = plan_replica_memory(spec, hw::Catalog::builtin().gpu("h100-sxm-80gb"));
    const ParamCounts p = count_params(spec.model);
    CHECK(mem.weights * tp == Approx((p.total - std::min(p.embedding, p.output) - p.final_norm) * 1.0).epsilon(1e-9));
  }
}

TEST_CASE("a step's routed experts: one grouped GEMM over the experts its tokens reach", "[serving][moe]") {
  // Uniform routing, top 8 of 128: a token reaches a given expert with q = 1/16, so T tokens reach
  // 1 - (15/16)^T of each GPU's 128/ep experts; those run as one GEMM of n = (2 x 1536 / (tp/ep))
  // x (experts reached) at their mean token count.
  for (auto [tp, ep, T] : {std::tuple{4, 4, 4}, std::tuple{4, 1, 4}, std::tuple{4, 4, 1}, std::tuple{4, 4, 512}}) {
    INFO("tp " << tp << " ep " << ep << " tokens " << T);
    const auto sc = load_scenario_text(qwen_yaml(tp, ep), "moe.yaml");
    const auto& spec = sc.workload_as<ServingSpec>();
    Session session(sc);
    RecordingCost rec;
    std::vector<int> ranks(static_cast<size_t>(tp));
    for (int i = 0; i < tp; ++i) ranks[size_t(i)] = i;
    IterationCost cost(spec, rec, session.collectives(), nullptr, ranks);
    StepShape s;
    s.tokens = T, s.sampled = T;
    s.decode_context.assign(size_t(T), 300);
    cost.step(s);
    const double per_gpu = 128.0 / ep, q = 1.0 / 16;
    const double reached = per_gpu * (1 - std::pow(1 - q, T)), tokens = T * q * per_gpu;
    const auto batch = std::max<int64_t>(1, std::llround(reached));
    const auto m = std::max<int64_t>(1, std::llround(tokens / double(batch)));
    const int64_t fe = 1536 / (tp / ep);
    bool fc1 = false, fc2 = false;
    for (const auto& g : rec.gemms) {
      fc1 = fc1 || (g.m == m && g.n == 2 * fe * batch && g.k == 4096);
      fc2 = fc2 || (g.m == m && g.n == 4096 * batch && g.k == fe);
    }
    CHECK(fc1);
    CHECK(fc2);
  }
}

TEST_CASE("MoE serving runs end to end and decodes faster than reading every expert", "[serving][moe]") {
  // A batch of 4 decodes reaches about 29 of 128 experts per layer: the step reads far less than
  // the replica's 55 GiB of weights per GPU (17 ms at H100's 3.35 TB/s).
  const auto j = test::run_serving_yaml(qwen_yaml(4, 4));
  CHECK(j["completed"] == 8);
  CHECK(j["tpot_ms"]["mean"].get<double>() < 17.0);
  CHECK(j["tpot_ms"]["mean"].get<double>() > 2.0);
}

TEST_CASE("latent attention serving: a compressed KV cache and absorbed decode projections", "[serving][moe][mla]") {
  // DeepSeek-V3 caches kv_lora_rank + qk_rope_head_dim = 576 elements per token and layer, whole on
  // every TP rank (the heads share the latent): 61 x 576 B per token per GPU in fp8.
  const std::string yaml =
      "name: ds\nseed: 1\nfidelity: analytical\ncluster: {system: hgx-h200, nodes: 1}\nmodel: deepseek-v3\n"
      "serving:\n  engine: trtllm\n  precision: fp8\n  kv_dtype: fp8\n  parallelism: {tp: 8, ep: 8}\n"
      "  workload: {requests: 4, arrivals: {kind: closed_loop, concurrency: 2}, input_tokens: {dist: fixed, value: 128}, "
      "output_tokens: {dist: fixed, value: 4}}\n";
  const auto sc = load_scenario_text(yaml, "ds.yaml");
  const auto& spec = sc.workload_as<ServingSpec>();
  const auto mem = plan_replica_memory(spec, hw::Catalog::builtin().gpu("h200-sxm-141gb"));
  CHECK(mem.kv_bytes_per_token == Approx(61.0 * 576));
  CHECK(kv_bytes_per_token(spec) == Approx(61.0 * 576));
  // A decode step of 5 sequences: the query absorbs W_UK (per head 128 -> 512) and the output
  // W_UV (512 -> 128) as one GEMM each over the 16 local heads side by side; attention reads the
  // 576-wide latent as one shared KV head.
  Session session(sc);
  RecordingCost rec;
  IterationCost cost(spec, rec, session.collectives(), nullptr, {0, 1, 2, 3, 4, 5, 6, 7});
  StepShape s;
  s.tokens = 5, s.sampled = 5;
  s.decode_context.assign(5, 300);
  cost.step(s);
  bool uk = false, uv = false, kv_up = false;
  for (const auto& g : rec.gemms) {
    uk = uk || (g.m == 5 && g.n == 512 * 16 && g.k == 128);
    uv = uv || (g.m == 5 && g.n == 128 * 16 && g.k == 512);
    kv_up = kv_up || (g.k == 512 && g.n == 16 * 256);   // prefill's kv up-projection: none in a decode step
  }
  CHECK(uk);
  CHECK(uv);
  CHECK_FALSE(kv_up);
  CHECK(test::run_serving_yaml(yaml)["completed"] == 4);
}
