#pragma once
// The KV-cache tiers below a replica's HBM (serving.kv_offload): host DRAM, local NVMe, a remote
// pool, in that order, as LMCache, SGLang's HiCache and vLLM's offloading connector keep them. A
// prefix block evicted from HBM is written to the first tier; a tier that overflows passes its
// least recently used block down; the last one drops it. A request whose prompt starts with blocks
// held in a tier loads them back into HBM (the block leaves the tier: each block lives in one
// place), at that tier's read bandwidth per GPU. Stores and loads are counted per step: the driver
// charges loads before the step's forward pass (they block the batch: every running request's
// next token waits) and stores in parallel with it.
#include <cstdint>
#include <list>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

namespace foresight::sim {

struct KvTierConfig {
  std::string name;                 // host | nvme | remote
  int64_t capacity_blocks = 0;      // for this replica
  double read_bandwidth = 0;        // bytes/s per GPU into HBM
  double write_bandwidth = 0;       // bytes/s per GPU out of the tier above
  // Carried by simulated links (PCIe to host memory, the node's NVMe, the fabric to a remote pool):
  // its traffic is counted in bytes per GPU for the driver to send as transfers, not timed here.
  bool on_links = false;
};

struct KvTierCounters {
  int64_t stored = 0;     // blocks written into the tier
  int64_t loaded = 0;     // blocks read back into HBM (prefix hits served here)
  int64_t passed_down = 0;// blocks evicted from it (to the next tier, or dropped from the last)
  int64_t dropped = 0;    // of those passed down by the last tier: written nowhere (recomputed if needed)
  int64_t forgotten = 0;  // copies dropped because HBM computed the block again
};

class KvTiers {
 public:
  // `block_bytes`: one KV block on one GPU of the replica (every GPU moves its own shard at once).
  KvTiers(std::vector<KvTierConfig> tiers, double block_bytes);

  bool enabled() const { return !tiers_.empty(); }
  // The tier holding the block with this hash, or -1.
  int find(uint64_t hash) const;
  // A block evicted from HBM: into the first tier, cascading what overflows.
  void put(uint64_t hash);
  // A block loaded back into HBM for a prompt: leaves its tier, its read counted.
  void load(uint64_t hash);
  // A block computed again in HBM while a tier held it: the tier's copy is forgotten, unread.
  void forget(uint64_t hash);

  // Seconds of this step's traffic per GPU since the last call: loads (sequential reads into HBM)
  // and stores (each tier's writes on its own path; the slowest path counts).
  struct Traffic {
    double load_s = 0, store_s = 0;               // timed tiers
    // Tiers on links, bytes per GPU and tier: loads into HBM, and stores into the tier (tier 0's
    // from HBM, a deeper tier's from the tier above it).
    std::vector<double> load_bytes, store_bytes;
    bool any_bytes() const;
  };
  Traffic drain();
  // The loads since the last call only (an asynchronous load's own; stores stay pending).
  Traffic take_loads();

  const std::vector<KvTierConfig>& config() const { return tiers_; }
  const KvTierCounters& counters(size_t tier) const { return counters_[tier]; }
  int64_t resident(size_t tier) const { return static_cast<int64_t>(lru_[tier].size()); }
  double load_seconds() const { return load_total_; }
  double store_seconds() const { return store_total_; }

 private:
  void insert(size_t tier, uint64_t hash);
  void erase(uint64_t hash);

  std::vector<KvTierConfig> tiers_;
  double block_bytes_;
  std::vector<std::list<uint64_t>> lru_;   // front: least recently used
  struct Where {
    size_t tier;
    std::list<uint64_t>::iterator it;
  };
  absl::flat_hash_map<uint64_t, Where> where_;
  std::vector<KvTierCounters> counters_;
  std::vector<double> store_pending_;      // seconds per tier this step
  double load_pending_ = 0, load_total_ = 0, store_total_ = 0;
  std::vector<double> load_bytes_, store_bytes_;   // tiers on links, bytes per GPU this step
};

}  // namespace foresight::sim
