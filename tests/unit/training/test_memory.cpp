// Memory per GPU against hand calculations (Korthikanti et al. 2022, Table 2; mixed-precision Adam
// at 2 + 4 + 12 bytes per parameter).
#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "sim/training/memory_model.hpp"
#include "sim/training/model_math.hpp"
#include "sim/training/pipeline_schedule.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {
constexpr double L = 4, h = 1024, a = 16, V = 1000, s_len = 512, b = 2;
}

TEST_CASE("memory of a small GPT matches the hand calculation", "[training][memory]") {
  auto s = test::make_spec(test::gpt_model(int(L), int(h), int(a), int(V)), 1, 1, 1, 1, int64_t(s_len), 8, int64_t(b));
  s.attention_kernel = "unfused";   // the paper's setting, with s x s scores stored
  const auto sched = pipeline_schedule("1f1b", 1, 1, 4);
  const double sbh = s_len * b * h;
  // GPT layer: QKV 3h^2+3h, proj h^2+h, fc1 4h^2+4h, fc2 4h^2+h, two layernorms 4h.
  const double per_layer = 12 * h * h + 13 * h;
  const double P = L * per_layer + V * h + 2 * h;   // tied embeddings, final layernorm
  REQUIRE(count_params(s.model).total == Approx(P));

  SECTION("no recompute, no TP: 34sbh + 5as^2b per layer, one microbatch in flight") {
    const auto mem = estimate_memory(s, sched, 80e9);
    CHECK(mem.weights == Approx(2 * P));
    CHECK(mem.grads == Approx(4 * P));
    CHECK(mem.optimizer == Approx(12 * P));
    CHECK(mem.activations == Approx(L * sbh * (34 + 5 * a * s_len / h)));
    CHECK(mem.buffers == Approx(s_len * b * V * 6));   // 16-bit logits + fp32 softmax
    CHECK_FALSE(mem.oom);
  }
  SECTION("gradients held in bf16 when the reduction is bf16; the CUDA context is reserved") {
    auto t = s;
    t.grad_reduce_dtype = "bf16";
    const auto mem = estimate_memory(t, sched, 80e9);
    CHECK(mem.grads == Approx(2 * P));
    CHECK(mem.reserved == Approx(551e6));   // one GPU: no NCCL communicator
    // A capacity that holds the tensors but not the reserve is out of memory.
    CHECK(estimate_memory(t, sched, mem.peak + 1e6).oom);
    CHECK_FALSE(estimate_memory(t, sched, mem.peak + mem.reserved + 1e6).oom);
  }
  SECTION("tp=2 with sequence parallelism: sbh/t * (34 + 5as/h)") {
    auto t = s;
    t.par.tp = 2;
    t.par.sequence_parallel = true;
    CHECK(layer_activation_bytes(t) == Approx(sbh / 2 * (34 + 5 * a * s_len / h)));
    t.par.sequence_parallel = false;
    CHECK(layer_activation_bytes(t) == Approx(sbh * (10 + 24 / 2.0 + 5 * a * s_len / (h * 2))));
    t.recompute = "selective";
    CHECK(layer_activation_bytes(t) == Approx(sbh * (10 + 24 / 2.0)));
  }
  SECTION("full recompute stores 2sbh per layer plus one layer's working set") {
    auto t = s;
    t.recompute = "full";
    const auto mem = estimate_memory(t, sched, 80e9);
    CHECK(mem.activations == Approx(L * 2 * sbh + sbh * (34 + 5 * a * s_len / h)));
  }
  SECTION("ZeRO stages shard optimizer, gradients, weights over dp") {
    auto t = test::make_spec(test::gpt_model(int(L), int(h), int(a), int(V)), 1, 1, 4, 1, int64_t(s_len), 32, int64_t(b));
    for (int z = 0; z <= 3; ++z) {
      t.zero = z;
      const auto mem = estimate_memory(t, sched, 80e9);
      CHECK(mem.optimizer == Approx(12 * P / (z >= 1 ? 4 : 1)));
      CHECK(mem.grads == Approx(4 * P / (z >= 2 ? 4 : 1)));
      CHECK(mem.weights == Approx(2 * P / (z >= 3 ? 4 : 1)));
    }
  }
  SECTION("out-of-memory verdict") {
    const auto mem = estimate_memory(s, sched, 1e6);
    CHECK(mem.oom);
  }
}

TEST_CASE("in-flight microbatches per schedule", "[training][memory]") {
  // 1F1B: the first stage holds pp microbatches, the last one; GPipe holds all m (Narayanan 2021).
  const std::vector<std::vector<int>> one_layer(4, std::vector<int>{1});
  const auto f1b = peak_inflight_layers(pipeline_schedule("1f1b", 4, 1, 8), one_layer);
  CHECK(f1b[0] == 4);
  CHECK(f1b[3] == 1);
  const auto gp = peak_inflight_layers(pipeline_schedule("gpipe", 4, 1, 8), one_layer);
  CHECK(gp[0] == 8);
  // Interleaved: the first stage holds pp*(1 + (pp-1)/(pp*vpp)) microbatches' worth of a stage's
  // layers: with pp=4, vpp=2, one layer per chunk: 2*4 + 2*(4-1) + ... = warmup+1 chunks.
  const std::vector<std::vector<int>> chunks(4, std::vector<int>{1, 1});
  const auto il = peak_inflight_layers(pipeline_schedule("interleaved", 4, 2, 8), chunks);
  CHECK(il[0] == (4 - 1) * 2 + (2 - 1) * 4 + 1);
}
