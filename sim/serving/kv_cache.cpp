#include "sim/serving/kv_cache.hpp"

#include <algorithm>
#include <stdexcept>

namespace foresight::sim {

KvCache::KvCache(int64_t blocks, int block_size, bool prefix_caching)
    : total_(blocks), free_(blocks), block_size_(block_size), prefix_caching_(prefix_caching) {
  if (blocks <= 0 || block_size <= 0) throw std::logic_error("KV cache needs blocks and a block size");
  if (blocks > INT32_MAX) throw std::logic_error("KV cache larger than 2^31 blocks");
}

void KvCache::lru_push(int32_t s) {
  Slot& x = slots_[static_cast<size_t>(s)];
  x.prev = lru_tail_, x.next = -1;
  if (lru_tail_ >= 0) slots_[static_cast<size_t>(lru_tail_)].next = s;
  else lru_head_ = s;
  lru_tail_ = s;
  ++evictable_;
}

void KvCache::lru_remove(int32_t s) {
  Slot& x = slots_[static_cast<size_t>(s)];
  if (x.prev >= 0) slots_[static_cast<size_t>(x.prev)].next = x.next;
  else lru_head_ = x.next;
  if (x.next >= 0) slots_[static_cast<size_t>(x.next)].prev = x.prev;
  else lru_tail_ = x.prev;
  x.prev = x.next = -1;
  --evictable_;
}

int64_t KvCache::match(const Request& r) const {
  if (!prefix_caching_) return 0;
  const int64_t cap = std::min<int64_t>((r.tokens() - 1) / block_size_, static_cast<int64_t>(r.block_hashes.size()));
  // Blocks loaded from a tier need HBM blocks of their own: at most what is free or evictable,
  // less the evictable blocks this prefix itself will pin.
  int64_t room = free_ + evictable_, m = 0;
  for (; m < cap; ++m) {
    const uint64_t h = r.block_hashes[static_cast<size_t>(m)];
    if (const auto it = index_.find(h); it != index_.end()) {
      if (slots_[static_cast<size_t>(it->second)].refs == 0) --room;
      continue;
    }
    if (!tiers_ || tiers_->find(h) < 0 || room < 1) break;
    --room;
  }
  return m;
}

int32_t KvCache::evict_lru() {
  const int32_t s = lru_head_;
  lru_remove(s);
  const uint64_t h = slots_[static_cast<size_t>(s)].hash;
  index_.erase(h);
  ++evictions_;
  if (tiers_) tiers_->put(h);   // offload: the block goes down to the first tier
  return s;
}

void KvCache::reserve_index() {
  if (!slots_.empty()) return;
  index_.reserve(static_cast<size_t>(total_));
  slots_.reserve(static_cast<size_t>(std::min<int64_t>(total_, 1 << 20)));
}

int32_t KvCache::take_block(uint64_t hash) {
  int32_t s;
  if (free_ > 0) {
    --free_;
    if (!spare_.empty()) {
      s = spare_.back();
      spare_.pop_back();
    } else {
      s = static_cast<int32_t>(slots_.size());
      slots_.emplace_back();
    }
  } else {
    s = evict_lru();  // match() checked there is one
  }
  slots_[static_cast<size_t>(s)] = Slot{hash, 1, -1, -1};
  index_[hash] = s;
  return s;
}

void KvCache::acquire_prefix(Request& r, int64_t blocks) {
  // HBM hits first, so the blocks loaded from tiers cannot evict them.
  for (int64_t k = 0; k < blocks; ++k) {
    const auto it = index_.find(r.block_hashes[static_cast<size_t>(k)]);
    if (it == index_.end()) continue;
    if (slots_[static_cast<size_t>(it->second)].refs++ == 0) lru_remove(it->second);
  }
  for (int64_t k = 0; k < blocks; ++k) {
    const uint64_t h = r.block_hashes[static_cast<size_t>(k)];
    const auto it = index_.find(h);
    if (it != index_.end()) {
      r.cached_blocks.push_back(it->second);
      continue;
    }
    reserve_index();
    tiers_->load(h);
    ++tier_hits_;
    r.cached_blocks.push_back(take_block(h));
  }
  r.blocks += blocks;
  r.hashed = blocks;
  r.computed = blocks * block_size_;
  acquired_ += blocks;
}

bool KvCache::grow(Request& r, int64_t tokens) {
  const int64_t need = blocks_for(tokens) - r.blocks;
  if (need <= 0) return true;
  if (need > free_ + evictable_) return false;
  const int64_t from_free = std::min(need, free_);
  free_ -= from_free;
  for (int64_t k = from_free; k < need; ++k) spare_.push_back(evict_lru());  // reuse the least recently used cached blocks
  r.blocks += need;
  acquired_ += need;
  return true;
}

void KvCache::publish(Request& r) {
  if (!prefix_caching_) return;
  const int64_t full = std::min<int64_t>(std::min(r.computed, r.input_tokens) / block_size_,
                                         static_cast<int64_t>(r.block_hashes.size()));
  if (r.hashed >= full) return;
  reserve_index();
  for (; r.hashed < full; ++r.hashed) {
    const uint64_t h = r.block_hashes[static_cast<size_t>(r.hashed)];
    int32_t s;
    if (!spare_.empty()) {
      s = spare_.back();
    } else {
      s = static_cast<int32_t>(slots_.size());
    }
    auto [it, fresh] = index_.try_emplace(h, s);
    if (!fresh) continue;  // computed twice at once: this copy stays private, as vLLM does
    if (!spare_.empty()) spare_.pop_back();
    else slots_.emplace_back();
    slots_[static_cast<size_t>(s)] = Slot{h, 1, -1, -1};
    r.cached_blocks.push_back(s);
    if (tiers_) tiers_->forget(h);  // computed again here: a tier's copy is redundant
  }
}

void KvCache::release(Request& r) {
  // Tail first into the queue, so the head of a prefix is evicted last.
  for (auto it = r.cached_blocks.rbegin(); it != r.cached_blocks.rend(); ++it)
    if (--slots_[static_cast<size_t>(*it)].refs == 0) lru_push(*it);
  free_ += r.blocks - static_cast<int64_t>(r.cached_blocks.size());
  released_ += r.blocks;
  r.blocks = 0;
  r.cached_blocks.clear();
  r.hashed = 0;
}

}  // namespace foresight::sim
