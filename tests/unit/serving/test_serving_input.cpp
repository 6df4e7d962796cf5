// Bad serving input is a located one-line error; traces in every supported format replay.
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "helpers.hpp"
#include "sim/serving/trace_reader.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {

const char* kWorkload =
    "{requests: 10, arrivals: {kind: poisson, rate: 5/s}, input_tokens: {dist: fixed, value: 100}, output_tokens: "
    "{dist: fixed, value: 10}}";

std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    test::run_serving_yaml(yaml, overrides);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

std::string traces() { return std::string(FORESIGHT_SOURCE_DIR) + "/tests/data/traces/"; }

}  // namespace

TEST_CASE("bad serving input names the file, line and key", "[serving][input]") {
  const std::string ok = test::serving_yaml(kWorkload);
  CHECK(error_of(ok, {"serving.workload.arrivals.rate=0/s"}) ==
        "--set serving.workload.arrivals.rate: 'serving.workload.arrivals.rate': must be a positive rate like 10/s");
  CHECK(error_of(ok, {"serving.workload.arrivals.rate=5"}).find("'5' has no unit; a rate needs one of: /s, /min, /h") !=
        std::string::npos);
  CHECK(error_of(ok, {"serving.parallelism.tp=3"}) ==
        "--set serving.parallelism.tp: 'serving.parallelism.tp': model.heads = 32 is not divisible by tp = 3");
  CHECK(error_of(ok, {"serving.router=fastest"}).find("'serving.router': 'fastest' is not one of: round_robin") !=
        std::string::npos);
  CHECK(error_of(ok, {"serving.replicas=9"}) ==
        "--set serving.replicas: 'serving.replicas': replicas x tp x pp = 9 x 1 x 1 = 9 GPUs, but the cluster has 8");
  // Llama-3.1-405B in bf16 on one 80 GB GPU: the weights alone are ten times the memory.
  const std::string big = error_of(ok, {"model=llama3.1-405b"});
  CHECK(big.find("serving-test.yaml:9:16: 'serving.parallelism': llama3.1-405b does not fit: per GPU") == 0);
  CHECK(big.find("weights") != std::string::npos);
  CHECK(error_of(ok, {"serving.precision=fp4"}).find("GPU h100-sxm-80gb has no fp4 tensor cores") != std::string::npos);
  CHECK(error_of(ok, {"serving.scheduler.policy=lpm", "serving.scheduler.prefix_caching=false"})
            .find("policy lpm (longest prefix match first) needs prefix_caching: true") != std::string::npos);
  CHECK(error_of(ok, {"serving.workload.arrivals={kind: trace, path: missing.csv}"}).find("no trace file at") !=
        std::string::npos);
  CHECK(error_of(ok, {"serving.workload.input_tokens={dist: uniform, min: 10, max: 5}"})
            .find("'serving.workload.input_tokens.max': must not be smaller than min") != std::string::npos);
  // A training section does not belong in a serving scenario.
  CHECK(error_of(ok + "training: {sequence_length: 2048, global_batch: 8}\n")
            .find("'serving': a scenario runs one workload, and this one has both 'training' and 'serving'; keep one") !=
        std::string::npos);
}

TEST_CASE("a malformed trace row is reported with its line and column", "[serving][input]") {
  TraceReader reader(traces() + "azure-bad-row.csv", "azure");
  CHECK(reader.next()->input == 374);
  CHECK_THROWS_WITH(reader.next(), traces() + "azure-bad-row.csv:3:29: 'three hundred' is not a token count");
  TraceReader wrong(traces() + "burstgpt.csv", "azure");
  CHECK_THROWS_WITH(wrong.next(), Catch::Contains("burstgpt.csv:1:1: the azure trace header needs columns TIMESTAMP"));
}

TEST_CASE("the three trace formats replay with their arrival times and lengths", "[serving][input]") {
  TraceReader azure(traces() + "azure.csv", "azure");
  const auto first = azure.next();
  const auto second = azure.next();
  REQUIRE(second);
  CHECK(first->time == 0);
  // Seconds since 1970 in a double resolve about 0.2 us: a microsecond margin.
  CHECK(second->time == Approx(50.9951690 - 46.6805900).margin(1e-6));
  CHECK(second->input == 396);
  CHECK(second->output == 109);
  int rows = 2;
  while (azure.next()) ++rows;
  CHECK(rows == 5);
  CHECK(azure.skipped() == 1);  // the zero-output row
  TraceReader burst(traces() + "burstgpt.csv", "burstgpt");
  CHECK(burst.next()->time == 0);
  CHECK(burst.next()->time == 113);  // 118 - 5, the failed (0-token) request between them skipped
  TraceReader moon(traces() + "mooncake.jsonl", "mooncake");
  const auto m = moon.next();
  CHECK(m->hash_ids == std::vector<uint64_t>{0, 1, 2});
  CHECK(moon.next()->time == 2.0);  // milliseconds in the file

  const auto j = test::run_serving_yaml(test::serving_yaml(
      "{arrivals: {kind: trace, path: " + traces() + "mooncake.jsonl, format: mooncake}}",
      "  scheduler: {prefix_caching: true}\n"));
  CHECK(j["completed"] == 4);
  // Requests 2 and 4 reuse 512-token blocks 0 and 1 of request 1 (and 4 all of its prompt).
  CHECK(j["kv"]["cache_hit_tokens"].get<int64_t>() == 1024 + 1520);
}

TEST_CASE("serving picks its engine's measured kernels, says so, and counts what the roofline answered",
          "[serving][calibration]") {
  const std::string yaml = test::serving_yaml(kWorkload);
  auto run = [&](std::vector<std::string> set) {
    set.push_back("serving.engine=sglang");
    const auto s = sim::load_scenario_text(yaml, "cal.yaml", set);
    return sim::run_scenario(s, {}).document;
  };
  const auto measured = run({});
  const auto& cal = measured["provenance"]["calibration"];
  CHECK(cal["source"] == "profile");
  CHECK(cal["why"].get<std::string>().find("sglang kernels measured on h100-sxm-80gb") != std::string::npos);
  CHECK(cal["queries"]["measured_table"].get<long>() > 0);
  CHECK(cal["queries"]["roofline"].get<long>() > 0);  // memory-bound ops: not in the measured database
  const auto roof = run({"calibration=roofline"});
  CHECK(roof["provenance"]["calibration"]["source"] == "roofline");
  // A GPU without a shipped profile says so and uses the roofline.
  const auto h800 = run({"cluster.system=hgx-h800"});
  CHECK(h800["provenance"]["calibration"]["why"].get<std::string>().find("no measured profile for h800-sxm-80gb") !=
        std::string::npos);
}
