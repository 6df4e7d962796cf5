// KV-cache tiers below HBM (serving.kv_offload): blocks are conserved through every tier; a hit
// is served once, from the tier that holds it, at that tier's bandwidth; the LRU of each tier
// passes its oldest block down; and, on the shipped long-context scenario, a host-DRAM tier helps
// TTFT and TPOT while a slow NVMe tier hurts TPOT (loads stall the batch).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "helpers.hpp"
#include "sim/serving/kv_cache.hpp"
#include "sim/serving/kv_tiers.hpp"
#include "sim/run/session.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {

const std::string kScenario =
    (std::filesystem::path(FORESIGHT_SOURCE_DIR) / "scenarios/serving-kv-offload-long-context.yaml").string();

// The shipped scenario with `overrides`; `offload` false: without its kv_offload block.
nlohmann::json run(const std::vector<std::string>& overrides, bool offload = true) {
  std::ifstream in(kScenario);
  std::stringstream text;
  for (std::string line; std::getline(in, line);)
    if (offload || (line.rfind("  kv_offload:", 0) != 0 && line.rfind("    tiers:", 0) != 0)) text << line << "\n";
  const auto sc = load_scenario_text(text.str(), kScenario, overrides);
  return run_scenario(sc, RunOptions{}).document.at("serving");
}

}  // namespace

TEST_CASE("a tier's LRU passes its oldest block down, and the last tier drops it", "[serving][kv_tiers]") {
  // Two blocks of host, one of NVMe; 1 MB blocks at 1 GB/s host and 0.5 GB/s NVMe.
  KvTiers t({{"host", 2, 1e9, 1e9}, {"nvme", 1, 0.5e9, 0.5e9}}, 1e6);
  t.put(1), t.put(2), t.put(3);   // 1 goes down to NVMe
  CHECK(t.find(1) == 1);
  CHECK(t.find(3) == 0);
  t.put(4);                       // 2 goes down, pushing 1 out of the last tier
  CHECK(t.find(1) == -1);
  CHECK(t.find(2) == 1);
  CHECK(t.counters(1).dropped == 1);
  const auto store = t.drain();
  // Host wrote 4 blocks (4 ms at 1 GB/s), NVMe 2 (4 ms at 0.5 GB/s): separate paths, the slower counts.
  CHECK(store.store_s == Approx(4e-3));
  CHECK(store.load_s == 0);
  t.load(2);                      // a hit in NVMe: read at its bandwidth, and the block leaves the tier
  t.load(4);
  const auto load = t.drain();
  CHECK(load.load_s == Approx(1e6 / 0.5e9 + 1e6 / 1e9));
  CHECK(t.find(2) == -1);
  CHECK(t.counters(0).loaded == 1);
  CHECK(t.counters(1).loaded == 1);
}

TEST_CASE("a cache evicts into its tiers and a prefix found there is loaded back, once", "[serving][kv_tiers]") {
  // HBM of 4 blocks of 2 tokens; a host tier of 8 blocks.
  KvTiers tiers({{"host", 8, 1e9, 1e9}}, 1e6);
  KvCache kv(4, 2, true);
  kv.attach_tiers(&tiers);
  Request a;
  a.input_tokens = 7, a.output_tokens = 1;
  a.block_hashes = {11, 12, 13};
  REQUIRE(kv.grow(a, 7));
  a.computed = 7;
  kv.publish(a);
  kv.release(a);                  // three cached blocks, unreferenced
  Request b;
  b.input_tokens = 7, b.output_tokens = 1;
  b.block_hashes = {21, 22, 23};
  REQUIRE(kv.grow(b, 8));         // four blocks: all of a's are evicted to the tier
  CHECK(tiers.resident(0) == 3);
  b.computed = 8;
  kv.publish(b);
  kv.release(b);
  Request c;                      // a's prompt again: its three blocks are in the tier
  c.input_tokens = 7, c.output_tokens = 1;
  c.block_hashes = {11, 12, 13};
  REQUIRE(kv.match(c) == 3);
  kv.acquire_prefix(c, 3);
  CHECK(kv.tier_hits() == 3);
  // a's blocks came back up: into HBM's one free block and two of b's, which went down in turn
  // (its tail first: a prefix's head is evicted last).
  CHECK(tiers.resident(0) == 2);
  CHECK(tiers.find(23) == 0);
  CHECK(tiers.find(22) == 0);
  CHECK(tiers.find(21) == -1);
  CHECK(tiers.find(11) == -1);
  CHECK(tiers.counters(0).loaded == 3);
  CHECK(kv.in_use() == 3);
  kv.release(c);
  CHECK(kv.acquired() == kv.released());
}

TEST_CASE("offloaded blocks are conserved, hits are served once at their tier's bandwidth", "[serving][kv_tiers]") {
  // A small host tier over NVMe: blocks cascade, and every one is accounted for. Bandwidths given:
  // the traffic is timed per GPU (not sent on links), so its seconds are the closed form.
  const auto j = run({"serving.workload.requests=400",
                      "serving.kv_offload.tiers=[{tier: host, capacity: 20GiB, bandwidth: 64GB/s}, "
                      "{tier: nvme, capacity: 1TiB, bandwidth: 6.25GB/s}]"});
  const auto& t = j["kv"]["tiers"];
  const auto& host = t["list"][0];
  const auto& nvme = t["list"][1];
  auto n = [](const nlohmann::json& x, const char* k) { return x[k].get<int64_t>(); };
  for (const auto* x : {&host, &nvme})
    CHECK(n(*x, "stored_blocks") == n(*x, "loaded_blocks") + n(*x, "passed_down_blocks") + n(*x, "forgotten_blocks") +
                                        n(*x, "resident_blocks"));
  CHECK(n(host, "passed_down_blocks") > 0);   // the host tier overflowed ...
  CHECK(n(host, "dropped_blocks") == 0);      // ... into NVMe, which kept everything
  CHECK(n(host, "passed_down_blocks") == n(nvme, "stored_blocks"));
  CHECK(n(host, "loaded_blocks") > 0);
  CHECK(n(nvme, "loaded_blocks") > 0);
  CHECK(t["loaded_prefix_blocks"].get<int64_t>() == n(host, "loaded_blocks") + n(nvme, "loaded_blocks"));
  // Loads: each block's per-GPU shard over its tier's bandwidth. Llama-3.1-8B bf16 block of 16
  // tokens: 32 layers x 8 KV heads x 128 x 2 x 2 bytes x 16 = 2 MiB on the one GPU.
  const double block = 32.0 * 8 * 128 * 2 * 2 * 16;
  const double host_bw = host["bandwidth_Bps"].get<double>(), nvme_bw = nvme["bandwidth_Bps"].get<double>();
  CHECK(host_bw == 64e9);
  CHECK(nvme_bw == 6.25e9);
  CHECK(t["link_bytes"].get<double>() == 0);
  CHECK(t["load_s"].get<double>() ==
        Approx(n(host, "loaded_blocks") * block / host_bw + n(nvme, "loaded_blocks") * block / nvme_bw).epsilon(1e-9));
  // Every prompt token is either computed or a hit (in HBM or a tier).
  const int64_t prompt = 400 * 16896;
  CHECK(j["prefill_tokens_computed"].get<int64_t>() + j["kv"]["cache_hit_tokens"].get<int64_t>() == prompt);
  // The same tiers from the catalog run on links: every block stored or loaded is one transfer of
  // its shard (HBM to host over PCIe, host to NVMe on the node's drives, back over both).
  const auto l = run({"serving.workload.requests=400",
                      "serving.kv_offload.tiers=[{tier: host, capacity: 20GiB}, {tier: nvme, capacity: 1TiB}]"});
  const auto& lt = l["kv"]["tiers"];
  double blocks = 0;
  for (const auto& x : lt["list"]) {
    CHECK(x["on_links"] == true);
    blocks += double(n(x, "stored_blocks") + n(x, "loaded_blocks"));
  }
  CHECK(lt["link_bytes"].get<double>() == Approx(blocks * block).epsilon(1e-12));
  CHECK(lt["load_s"].get<double>() == 0);
}

TEST_CASE("tier copies run on PCIe and NVMe links: GPUs share their node's drives by max-min", "[serving][kv_tiers]") {
  const auto sc = load_scenario(kScenario, std::vector<std::string>{});
  Session session(sc);
  const double bytes = 1e9;
  auto timed = [&](const std::vector<std::pair<int, int>>& copies) {
    auto engine = session.engine();
    std::vector<ActivityId> ids;
    for (const auto& [src, dst] : copies) ids.push_back(engine->transfer(src, dst, bytes));
    engine->run();
    std::vector<double> ends;
    for (ActivityId id : ids) ends.push_back(engine->end_time(id));
    return ends;
  };
  // Catalog, DGX H100: 64 GB/s PCIe per GPU and direction, 50 GB/s of NVMe reads per node.
  CHECK(timed({{hw::host_endpoint(0), 0}})[0] == Approx(bytes / 64e9).epsilon(1e-9));
  CHECK(timed({{0, hw::host_endpoint(0)}})[0] == Approx(bytes / 64e9).epsilon(1e-9));
  CHECK(timed({{hw::nvme_endpoint(0), 0}})[0] == Approx(bytes / 50e9).epsilon(1e-9));   // the drives are slower
  // Two GPUs reading the node's drives at once share them; two reading host memory do not.
  for (double end : timed({{hw::nvme_endpoint(0), 0}, {hw::nvme_endpoint(0), 1}})) CHECK(end == Approx(2 * bytes / 50e9).epsilon(1e-9));
  for (double end : timed({{hw::host_endpoint(0), 0}, {hw::host_endpoint(0), 1}})) CHECK(end == Approx(bytes / 64e9).epsilon(1e-9));
  // A GPU cannot copy to another node's memory.
  auto engine = session.engine();
  CHECK_THROWS(engine->transfer(0, hw::host_endpoint(1), bytes));
}

TEST_CASE("a host tier helps a long-context workload; a slow NVMe tier hurts its TPOT", "[serving][kv_tiers]") {
  // The slow tier: NVMe at the 6.25 GB/s per GPU a node's 50 GB/s of drives leave each GPU when all
  // eight load at once (timed per GPU).
  const auto none = run({}, false);
  const auto host = run({});
  const auto nvme = run({"serving.kv_offload.tiers=[{tier: nvme, capacity: 1TiB, bandwidth: 6.25GB/s}]"});
  auto p99 = [](const nlohmann::json& j, const char* m) { return j[m]["p99"].get<double>(); };
  auto mean = [](const nlohmann::json& j, const char* m) { return j[m]["mean"].get<double>(); };
  WARN("TTFT mean / TPOT p99 (ms): no tier " << mean(none, "ttft_ms") << " / " << p99(none, "tpot_ms") << ", host "
                                              << mean(host, "ttft_ms") << " / " << p99(host, "tpot_ms") << ", NVMe "
                                              << mean(nvme, "ttft_ms") << " / " << p99(nvme, "tpot_ms"));
  // More prefix hits with a tier: HBM alone holds about half the 48 documents.
  CHECK(host["kv"]["prefix_hit_rate"].get<double>() > none["kv"]["prefix_hit_rate"].get<double>() + 0.3);
  // Loading 16k tokens from host DRAM (2.1 GB at 64 GB/s, 34 ms) beats recomputing them ...
  CHECK(mean(host, "ttft_ms") < 0.5 * mean(none, "ttft_ms"));
  CHECK(p99(host, "tpot_ms") < p99(none, "tpot_ms"));
  // ... loading them from NVMe at 6.25 GB/s per GPU (336 ms, the whole batch waiting) does not.
  CHECK(p99(nvme, "tpot_ms") > p99(none, "tpot_ms"));
}

TEST_CASE("asynchronous loads wait outside the batch: the slow tier stops hurting TPOT", "[serving][kv_tiers]") {
  const std::string nvme = "serving.kv_offload.tiers=[{tier: nvme, capacity: 1TiB, bandwidth: 6.25GB/s}]";
  const auto none = run({}, false);
  const auto blocking = run({nvme});
  const auto async = run({nvme, "serving.kv_offload.load=async"});
  auto p99 = [](const nlohmann::json& j, const char* m) { return j[m]["p99"].get<double>(); };
  const auto& t = async["kv"]["tiers"];
  // Every load ran on the copy stream, none inside a step.
  CHECK(t["load"] == "async");
  CHECK(t["async_load_s"].get<double>() == Approx(t["load_s"].get<double>()).epsilon(1e-12));
  CHECK(t["async_load_s"].get<double>() > 0);
  CHECK(blocking["kv"]["tiers"]["async_load_s"].get<double>() == 0);
  WARN("NVMe tier TPOT p99: blocking " << p99(blocking, "tpot_ms") << " ms, async " << p99(async, "tpot_ms")
                                        << " ms, no tier " << p99(none, "tpot_ms") << " ms");
  CHECK(p99(async, "tpot_ms") < p99(blocking, "tpot_ms"));
  CHECK(p99(async, "tpot_ms") < p99(none, "tpot_ms"));
  // Blocks are conserved the same way.
  const auto& x = t["list"][0];
  CHECK(x["stored_blocks"].get<int64_t>() == x["loaded_blocks"].get<int64_t>() + x["passed_down_blocks"].get<int64_t>() +
                                                 x["forgotten_blocks"].get<int64_t>() + x["resident_blocks"].get<int64_t>());
  CHECK(async["completed"] == 1000);
}

TEST_CASE("a remote pool's traffic runs as transfers on the fabric, every block once", "[serving][kv_tiers]") {
  // Two nodes: the pool lives in the other node's memory; each load and store is one transfer of
  // the block's shard per GPU (TP1: the block) to or from GPU 8.
  const auto j = run({"cluster.nodes=2", "serving.workload.requests=300",
                      "serving.kv_offload.tiers=[{tier: remote, capacity: 1TiB}]"});
  const auto& t = j["kv"]["tiers"];
  const auto& x = t["list"][0];
  CHECK(x["on_links"] == true);
  const double block = 32.0 * 8 * 128 * 2 * 2 * 16;   // Llama-3.1-8B bf16, 16 tokens
  CHECK(t["link_bytes"].get<double>() ==
        Approx((x["stored_blocks"].get<int64_t>() + x["loaded_blocks"].get<int64_t>()) * block).epsilon(1e-12));
  CHECK(x["loaded_blocks"].get<int64_t>() > 0);
  CHECK(t["load_s"].get<double>() == 0);   // nothing timed off the fabric
  CHECK(t["step_time_added_s"].get<double>() == 0);
  // One-node clusters have no peer memory to pool.
  CHECK_THROWS_WITH(run({"serving.kv_offload.tiers=[{tier: remote, capacity: 1TiB}]"}),
                    Catch::Contains("a remote pool lives in other nodes' memory"));
}

TEST_CASE("disaggregated, the prefill pool keeps prefixes in its tiers too", "[serving][kv_tiers][disaggregation]") {
  // The long-context workload on one TP1 prefill and one TP1 decode worker: the documents the
  // prefill worker's HBM evicts come back from host memory instead of being prefilled again.
  auto yaml = [](bool offload) {
    return std::string("name: disagg-tiers\nseed: 1\nfidelity: analytical\ncluster: {system: dgx-h100, nodes: 1}\n"
                       "model: llama3.1-8b\nserving:\n  engine: vllm\n"
                       "  scheduler: {prefix_caching: true, max_num_batched_tokens: 8192}\n"
                       "  slo: {ttft_ms: 2000, tpot_ms: 50}\n  disaggregation:\n"
                       "    prefill: {replicas: 1, parallelism: {tp: 1}}\n    decode: {replicas: 1, parallelism: {tp: 1}}\n") +
           (offload ? "  kv_offload: {tiers: [{tier: host, capacity: 200GiB}]}\n" : "") +
           "  workload: {requests: 300, arrivals: {kind: poisson, rate: 1/s}, input_tokens: {dist: fixed, value: 16896}, "
           "output_tokens: {dist: fixed, value: 256}, shared_prefix: {fraction: 1.0, tokens: 16384, groups: 48}}\n";
  };
  const auto none = test::run_serving_yaml(yaml(false)), tiers = test::run_serving_yaml(yaml(true));
  const auto& host = tiers["kv"]["tiers"]["list"][0];
  CHECK(host["loaded_blocks"].get<int64_t>() > 0);
  CHECK(host["stored_blocks"].get<int64_t>() == host["loaded_blocks"].get<int64_t>() + host["passed_down_blocks"].get<int64_t>() +
                                                    host["forgotten_blocks"].get<int64_t>() + host["resident_blocks"].get<int64_t>());
  CHECK(tiers["prefill_tokens_computed"].get<int64_t>() < none["prefill_tokens_computed"].get<int64_t>() / 2);
  CHECK(tiers["ttft_ms"]["mean"].get<double>() < 0.5 * none["ttft_ms"]["mean"].get<double>());
}
