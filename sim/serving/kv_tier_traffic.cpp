#include "sim/serving/kv_tier_traffic.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

std::vector<ActivityId> send_kv_tier_traffic(Engine& engine, const hw::Cluster& c, const ServingSpec& pool, int first_gpu,
                                             const std::vector<double>& bytes, bool load, double& sent_bytes) {
  std::vector<ActivityId> ids;
  const auto& tiers = pool.kv_offload.tiers;
  const int gpn = c.gpus_per_node();
  for (size_t t = 0; t < bytes.size(); ++t) {
    if (!(bytes[t] > 0)) continue;
    for (int i = 0; i < pool.gpus_per_replica(); ++i) {
      const int g = first_gpu + i, node = c.node_of(g);
      int there = (node + 1) % c.nodes() * gpn + g % gpn;   // remote
      if (tiers[t].tier == "host") there = hw::host_endpoint(node);
      if (tiers[t].tier == "nvme") {
        if (!c.has_nvme(g))
          throw InputError(fmt::format("serving.kv_offload: GPU {} ({}) has no NVMe bandwidth in the catalog; give the "
                                       "nvme tier a bandwidth", g, c.system_at(g).id));
        there = hw::nvme_endpoint(node);
      }
      const bool from_host = !load && t > 0 && tiers[t - 1].on_links && tiers[t].tier == "nvme" && tiers[t - 1].tier == "host";
      const int from = from_host ? hw::host_endpoint(node) : g;
      ids.push_back(load ? engine.transfer(there, g, bytes[t]) : engine.transfer(from, there, bytes[t]));
    }
    sent_bytes += bytes[t] * pool.gpus_per_replica();
  }
  return ids;
}

nlohmann::json kv_tiers_json(const KvOffloadSpec& offload, const std::vector<const Replica*>& replicas, const KvTierTime& time) {
  nlohmann::json list = nlohmann::json::array();
  const auto& spec = offload.tiers;
  for (size_t t = 0; t < spec.size(); ++t) {
    KvTierCounters sum;
    int64_t resident = 0, capacity = 0;
    for (const Replica* r : replicas) {
      const KvTiers* x = r->tiers();
      if (!x) continue;
      const auto& c = x->counters(t);
      sum.stored += c.stored, sum.loaded += c.loaded, sum.passed_down += c.passed_down, sum.dropped += c.dropped;
      sum.forgotten += c.forgotten;
      resident += x->resident(t);
      capacity += x->config()[t].capacity_blocks;
    }
    list.push_back({{"tier", spec[t].tier}, {"capacity_blocks", capacity}, {"bandwidth_Bps", spec[t].bandwidth},
                    {"on_links", spec[t].on_links}, {"bandwidth_source", spec[t].source}, {"stored_blocks", sum.stored},
                    {"loaded_blocks", sum.loaded}, {"passed_down_blocks", sum.passed_down}, {"dropped_blocks", sum.dropped},
                    {"forgotten_blocks", sum.forgotten}, {"resident_blocks", resident}});
  }
  double load = 0, store = 0;
  int64_t hits = 0;
  for (const Replica* r : replicas)
    if (const KvTiers* x = r->tiers()) load += x->load_seconds(), store += x->store_seconds(), hits += r->kv().tier_hits();
  const std::string common = "evicted prefix blocks go down the tiers (LRU per tier, exclusive); ";
  return {{"list", list}, {"loaded_prefix_blocks", hits}, {"load_s", load}, {"store_s", store},
          {"step_time_added_s", time.step_time_added_s}, {"async_load_s", time.async_load_s}, {"link_bytes", time.link_bytes},
          {"load", offload.async_load ? "async" : "blocking"},
          {"model", common + (offload.async_load
                                  ? "hits load back on the replica's copy stream while the request waits outside the "
                                    "batch; stores overlap the steps"
                                  : "hits load back before the step (blocking the batch); stores overlap the step")}};
}

}  // namespace foresight::sim
