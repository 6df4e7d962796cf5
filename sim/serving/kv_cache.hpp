#pragma once
// A replica's paged KV cache: a pool of fixed-size blocks, with vLLM-style automatic prefix caching
// when enabled. A full prompt block, once computed, is registered under the chained hash of its
// tokens; later requests whose prompts start with the same blocks reference it instead of
// recomputing it. A cached block nobody references stays in the cache, least recently used first
// in line to be evicted when the pool runs short (released blocks are queued tail first, so a
// prefix's head outlives its tail). SGLang's radix tree behaves the same at page granularity.
//
// Cached blocks live in a slot table with an intrusive LRU list and an open-addressing hash index
// reserved for the whole pool, so a run over millions of blocks does no per-block allocation.
#include <cstdint>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "sim/serving/kv_tiers.hpp"
#include "sim/serving/request.hpp"

namespace foresight::sim {

class KvCache {
 public:
  KvCache(int64_t blocks, int block_size, bool prefix_caching);

  // Offload tiers below HBM (not owned): evicted prefix blocks go there, and prefixes found there
  // count as matches, loaded back by acquire_prefix.
  void attach_tiers(KvTiers* tiers) { tiers_ = tiers; }
  // Leading prompt blocks found in the cache (HBM, or a tier while HBM has room to load them back),
  // capped so the prompt's last token is always computed (the step that computes it samples the
  // first output token).
  int64_t match(const Request& r) const;
  // Takes references on the request's first `blocks` cached blocks; its computed tokens start after them.
  void acquire_prefix(Request& r, int64_t blocks);
  // Makes the request hold blocks for `tokens` tokens, evicting unreferenced cached blocks if the
  // free pool is short; false, changing nothing, if even that is not enough.
  bool grow(Request& r, int64_t tokens);
  int64_t blocks_for(int64_t tokens) const { return (tokens + block_size_ - 1) / block_size_; }
  // Registers the prompt blocks the request has finished computing.
  void publish(Request& r);
  // Gives back every block the request holds (finish or preemption).
  void release(Request& r);

  int64_t total() const { return total_; }
  int64_t free() const { return free_; }                 // holding nothing
  int64_t evictable() const { return evictable_; }       // cached, unreferenced
  int64_t in_use() const { return total_ - free_ - evictable_; }
  int block_size() const { return block_size_; }

  // Conservation counters: references handed out and given back; equal once every request left.
  int64_t acquired() const { return acquired_; }
  int64_t released() const { return released_; }
  int64_t evictions() const { return evictions_; }
  int64_t tier_hits() const { return tier_hits_; }   // prefix blocks loaded back from a tier

 private:
  struct Slot {
    uint64_t hash = 0;
    int32_t refs = 0;
    int32_t prev = -1, next = -1;   // LRU neighbours while unreferenced
  };
  void lru_push(int32_t s);
  void lru_remove(int32_t s);
  void reserve_index();
  // Drops the least recently used unreferenced block from HBM (into the tiers, if any); its slot.
  int32_t evict_lru();
  // One HBM block for a new cached entry: a free one, else the least recently used cached one
  // (evicted: to the tiers, if any); its slot record.
  int32_t take_block(uint64_t hash);

  int64_t total_, free_, evictable_ = 0;
  int block_size_;
  bool prefix_caching_;
  std::vector<Slot> slots_;
  std::vector<int32_t> spare_;               // unused slot records
  absl::flat_hash_map<uint64_t, int32_t> index_;  // open addressing: no allocation per entry
  int32_t lru_head_ = -1, lru_tail_ = -1;    // head: least recently used
  KvTiers* tiers_ = nullptr;
  int64_t acquired_ = 0, released_ = 0, evictions_ = 0, tier_hits_ = 0;
};

}  // namespace foresight::sim
