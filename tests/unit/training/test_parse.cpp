// Bad input: each case is a one-line InputError naming the key and the numbers.
#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "hwmodels/catalog/catalog.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {

const char* kModel = "model: {layers: 8, hidden: 1024, heads: 16, kv_heads: 4, ffn_hidden: 2816, vocab: 32000, "
                     "activation: swiglu, norm: rmsnorm}\n";

// Inline models need no catalog; only catalog-id cases load the built-in one.
TrainingSpec parse(const std::string& training, int gpus, int nvlink = 8, const std::string& model = kModel) {
  static const hw::Catalog empty;
  const std::string text = model + training;
  const auto model_node = test::yaml(text, "model");
  return parse_training(model_node, test::yaml(text, "training"), model_node.is_scalar() ? hw::Catalog::builtin() : empty,
                        gpus, nvlink);
}

std::string error_of(const std::string& training, int gpus, const std::string& model = kModel) {
  try {
    parse(training, gpus, 8, model);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("a valid training section parses", "[training][parse]") {
  const auto s = parse(
      "training:\n  sequence_length: 4096\n  global_batch: 64\n  micro_batch: 2\n  precision: fp8\n"
      "  parallelism: {tp: 4, pp: 2, dp: 2, cp: 1, vpp: 2, sequence_parallel: true}\n  zero: 1\n"
      "  recompute: selective\n  schedule: interleaved\n  overlap: {dp_grad_reduce: false, tp_comm: true}\n"
      "  dp_bucket: 40MiB\n",
      16);
  CHECK(s.par.tp == 4);
  CHECK(s.par.vpp == 2);
  CHECK(s.precision == "fp8");
  CHECK(s.dp_bucket_bytes == 40.0 * 1048576);
  CHECK_FALSE(s.overlap_dp_grad_reduce);
  CHECK(s.overlap_tp_comm);
  CHECK(s.model.kv_heads == 4);
  CHECK(s.microbatches() == 16);
  CHECK(s.warnings.empty());
}

TEST_CASE("catalog model ids resolve", "[training][parse][catalog]") {
  const auto s = parse("training: {sequence_length: 2048, global_batch: 8, parallelism: {tp: 8, pp: 8, dp: 1}}\n", 64,
                       8, "model: gpt3-175b\n");
  CHECK(s.model.layers == 96);
  CHECK(error_of("training: {sequence_length: 2048, global_batch: 8}\n", 1, "model: gpt-nope\n")
            .find("unknown model 'gpt-nope'") != std::string::npos);
}

TEST_CASE("bad training input names the key and the numbers", "[training][parse]") {
  const std::string base = "training:\n  sequence_length: 4096\n  global_batch: 64\n";
  SECTION("sizes do not multiply to the GPU count") {
    const auto e = error_of(base + "  parallelism: {tp: 4, pp: 2, dp: 3}\n", 16);
    CHECK(e.find("test.yaml:") != std::string::npos);
    CHECK(e.find("training.parallelism") != std::string::npos);
    CHECK(e.find("tp*pp*dp*cp = 4*2*3*1 = 24") != std::string::npos);
    CHECK(e.find("16 GPUs") != std::string::npos);
  }
  SECTION("layers not divisible by pp*vpp") {
    const auto e = error_of(base + "  schedule: interleaved\n  parallelism: {pp: 2, vpp: 3, dp: 1}\n", 2);
    CHECK(e.find("training.parallelism.pp") != std::string::npos);
    CHECK(e.find("model.layers = 8 is not divisible by pp*vpp = 2*3 = 6") != std::string::npos);
  }
  SECTION("batch not divisible by dp*micro_batch") {
    const auto e = error_of(base + "  micro_batch: 3\n  parallelism: {dp: 4}\n", 4);
    CHECK(e.find("training.global_batch") != std::string::npos);
    CHECK(e.find("64 is not divisible by dp*micro_batch = 4*3 = 12") != std::string::npos);
  }
  SECTION("heads not divisible by tp") {
    const auto e = error_of(base + "  parallelism: {tp: 3}\n", 3);
    CHECK(e.find("training.parallelism.tp") != std::string::npos);
    CHECK(e.find("model.heads = 16 is not divisible by tp = 3") != std::string::npos);
  }
  SECTION("kv_heads neither divides nor is divided by tp") {
    const std::string model = "model: {layers: 8, hidden: 1536, heads: 12, kv_heads: 6, vocab: 32000}\n";
    const auto e = error_of(base + "  parallelism: {tp: 4}\n", 4, model);
    CHECK(e.find("model.kv_heads = 6 and tp = 4") != std::string::npos);
  }
  SECTION("unknown keys are rejected, not ignored") {
    CHECK(error_of(base + "  micro_bach: 1\n", 1).find("'training.micro_bach': unknown key") != std::string::npos);
    CHECK(error_of(base + "  parallelism: {tp: 1, ppp: 1}\n", 1).find("training.parallelism.ppp") != std::string::npos);
    CHECK(error_of(base + "  overlap: {dp_grads: true}\n", 1).find("training.overlap.dp_grads") != std::string::npos);
  }
  SECTION("bad choices and values") {
    CHECK(error_of(base + "  schedule: zigzag\n", 1).find("'zigzag' is not one of") != std::string::npos);
    CHECK(error_of(base + "  zero: 4\n", 1).find("training.zero") != std::string::npos);
    CHECK(error_of(base + "  dp_bucket: 25\n", 1).find("training.dp_bucket") != std::string::npos);
    CHECK(error_of(base + "  parallelism: {vpp: 2, pp: 2}\n", 2).find("requires schedule: interleaved") !=
          std::string::npos);
    CHECK(error_of(base + "  parallelism: {order: [tp, pp, dp]}\n", 1).find("training.parallelism.order") !=
          std::string::npos);
  }
  SECTION("TP beyond the NVLink domain is allowed with a warning") {
    const auto s = parse(base + "  parallelism: {tp: 16}\n", 16);
    REQUIRE(s.warnings.size() == 1);
    CHECK(s.warnings[0].find("exceeds the NVLink domain") != std::string::npos);
  }
  SECTION("uneven pipeline split via embedding/loss accounting") {
    const std::string model = "model: {layers: 6, hidden: 1024, heads: 16, vocab: 32000}\n";
    CHECK(error_of(base + "  parallelism: {pp: 4}\n", 4, model).find("not divisible") != std::string::npos);
    const auto s = parse(base + "  parallelism: {pp: 4, account_for_embedding_in_pipeline_split: true, "
                                "account_for_loss_in_pipeline_split: true}\n",
                         4, 8, model);
    CHECK(s.layers_in_virtual_stage(0) == 1);
    CHECK(s.layers_in_virtual_stage(1) == 2);
    CHECK(s.layers_in_virtual_stage(3) == 1);
  }
}
