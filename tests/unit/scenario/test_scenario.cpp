#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "sim/collective_bench/bench_spec.hpp"
#include "sim/scenario/scenario.hpp"

using namespace foresight;

namespace {

const char* kGood = R"(name: t
seed: 3
fidelity: analytical
cluster:
  system: dgx-h100
  nodes: 2
  fabric: {topology: fat-tree, nic: cx7-ndr-400g, oversubscription: 2}
workload:
  kind: collective-bench
  ops: [all_reduce, all_gather]
  ranks: 16
  sizes: {min: 1MiB, max: 4MiB, factor: 2}
)";

sim::Scenario load(const std::string& text, std::vector<std::string> overrides = {}) {
  return sim::load_scenario_text(text, "s.yaml", overrides);
}

std::string error_of(const std::string& text, std::vector<std::string> overrides = {}) {
  try {
    load(text, overrides);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("a valid scenario parses into typed values") {
  const auto s = load(kGood);
  CHECK(s.name == "t");
  CHECK(s.seed == 3);
  CHECK(s.fidelity == sim::Fidelity::analytical);
  CHECK(s.cluster.nodes == 2);
  CHECK(s.cluster.fabric.kind == hw::FabricKind::fat_tree);
  CHECK(s.cluster.fabric.oversubscription == 2.0);
  CHECK(s.workload_as<sim::CollectiveBenchSpec>().ops.size() == 2);
  CHECK(s.workload_as<sim::CollectiveBenchSpec>().sizes() == std::vector<double>{1048576.0, 2097152.0, 4194304.0});
}

TEST_CASE("overrides from --set reach any key and report their own origin") {
  const auto s = load(kGood, {"cluster.nodes=4", "workload.ranks=32", "workload.sizes.max=1MiB"});
  CHECK(s.cluster.nodes == 4);
  CHECK(s.workload_as<sim::CollectiveBenchSpec>().ranks == 32);
  CHECK(s.workload_as<sim::CollectiveBenchSpec>().sizes().size() == 1);
  CHECK(error_of(kGood, {"cluster.nodez=4"}) == "--set cluster.nodez: 'cluster.nodez': unknown key; expected one of: system, nodes, fabric, extra_nodes");
  CHECK(error_of(kGood, {"cluster.nodes=-1"}) == "--set cluster.nodes: 'cluster.nodes': must be an integer from 1 to 1000000, got -1");
  CHECK(error_of(kGood, {"nodes"}).find("expected key.path=value") != std::string::npos);
}

TEST_CASE("bad input names file, line, column and key") {
  CHECK(error_of(replace(kGood, "nodes: 2", "nodes: two")) ==
        "s.yaml:6:10: 'cluster.nodes': expected a number like '8', got 'two'");
  CHECK(error_of(replace(kGood, "nodes: 2", "nodes: 2\n  gpus: 8")) ==
        "s.yaml:7:3: 'cluster.gpus': unknown key; expected one of: system, nodes, fabric, extra_nodes");
  CHECK(error_of(replace(kGood, "min: 1MiB", "min: 1")).find("s.yaml:12:16: 'workload.sizes.min': '1' has no unit") == 0);
  CHECK(error_of(replace(kGood, "ranks: 16", "ranks: 17")) ==
        "s.yaml:11:10: 'workload.ranks': 17 ranks do not fit in a cluster of 16 GPUs");
  CHECK(error_of(replace(kGood, "nic: cx7-ndr-400g", "nic: cx6-hdr-200g")).find("cannot take NIC cx6-hdr-200g") !=
        std::string::npos);
  CHECK(error_of(replace(kGood, "system: dgx-h100", "system: dgx-h900")).find("s.yaml:5:11: 'cluster.system': unknown system 'dgx-h900'") == 0);
  CHECK(error_of(replace(kGood, "all_gather", "allgather")).find("'workload.ops[1]': unknown collective 'allgather'") !=
        std::string::npos);
  CHECK(error_of(replace(kGood, "fidelity: analytical", "fidelity: exact")) ==
        "s.yaml:3:11: 'fidelity': 'exact' is not one of: flow, analytical");
  CHECK(error_of(replace(kGood, "factor: 2", "factor: 1")).find("'workload.sizes.factor': must be greater than 1") !=
        std::string::npos);
  CHECK(error_of("name: [unclosed").find("s.yaml:1:") == 0);
  CHECK(error_of("- a\n- b\n").find("a scenario is a mapping") != std::string::npos);
  CHECK(error_of(replace(kGood, "workload:", "workloads:")).find("'workloads': unknown key") != std::string::npos);
}

TEST_CASE("the built-in default scenario loads") {
  const auto s = sim::load_scenario_text(sim::default_scenario_text(), "default");
  CHECK(s.workload_as<sim::CollectiveBenchSpec>().ranks == 8);
  CHECK(s.workload_as<sim::CollectiveBenchSpec>().sizes().front() == 1024.0);
  CHECK(s.workload_as<sim::CollectiveBenchSpec>().sizes().back() == 8589934592.0);
}

TEST_CASE("a user catalog file adds a system the scenario then uses") {
  const std::string root = FORESIGHT_SOURCE_DIR;
  // The scenario names its catalog file relative to itself.
  const auto s = sim::load_scenario(root + "/scenarios/nccl-allreduce-gh200-nvl32.yaml");
  CHECK(s.cluster.system_spec.id == "gh200-nvl32");
  CHECK(s.cluster.gpu_spec.memory_bandwidth == 4e12);
  CHECK(s.cluster.gpu_spec.sources.at("memory_bandwidth").find("GH200") != std::string::npos);
  CHECK(s.catalog->has_model("llama3-70b"));  // the built-in catalog is still there
  // The same hardware through --catalog, from a scenario that does not name the file.
  sim::LoadOptions options;
  options.overrides = {"cluster.system=gh200-nvl32", "cluster.nodes=32", "workload.ranks=32"};
  options.catalog_files = {root + "/scenarios/catalogs/gh200.yaml"};
  const auto t = sim::load_scenario_text(sim::default_scenario_text(), "default", options);
  CHECK(t.cluster.gpu_spec.id == "gh200-96gb");
  CHECK(error_of(sim::default_scenario_text(), {"cluster.system=gh200-nvl32"}).find("unknown system 'gh200-nvl32'") !=
        std::string::npos);
  CHECK(error_of(replace(kGood, "seed: 3", "seed: 3\ncatalog: [missing.yaml]")) ==
        "s.yaml:3:11: 'catalog[0]': no catalog file at missing.yaml");
}

TEST_CASE("calibration: auto by default, roofline, a family, or a profile file") {
  CHECK(load(kGood).calibration == "auto");
  CHECK(load(kGood, {"calibration=roofline"}).calibration == "roofline");
  CHECK(load(kGood, {"calibration=trtllm"}).calibration == "trtllm");
  CHECK(error_of(kGood, {"calibration=nothing-here.json"})
            .find("'calibration': expected auto, roofline, trtllm, vllm, sglang or a profile file; no file at "
                  "nothing-here.json") != std::string::npos);
}
