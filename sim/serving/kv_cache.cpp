#include "sim/serving/kv_cache.hpp"

#include <algorithm>
#include <stdexcept>

namespace foresight::sim {

KvCache::KvCache(int64_t blocks, int block_size, bool prefix_caching)
    : total_(blocks), free_(blocks), block_size_(block_size), prefix_caching_(prefix_caching) {
  if (blocks <= 0 || block_size <= 0) throw std::logic_error("KV cache needs blocks and a block size");
}

int64_t KvCache::match(const Request& r) const {
  if (!prefix_caching_) return 0;
  const int64_t cap = std::min<int64_t>((r.tokens() - 1) / block_size_, static_cast<int64_t>(r.block_hashes.size()));
  int64_t m = 0;
  while (m < cap && cached_.count(r.block_hashes[static_cast<size_t>(m)])) ++m;
  return m;
}

void KvCache::acquire_prefix(Request& r, int64_t blocks) {
  for (int64_t k = 0; k < blocks; ++k) {
    const uint64_t h = r.block_hashes[static_cast<size_t>(k)];
    Entry& e = cached_.at(h);
    if (e.refs++ == 0) lru_.erase(e.lru);
    r.cached_blocks.push_back(h);
  }
  r.blocks += blocks;
  r.hashed = blocks;
  r.computed = blocks * block_size_;
  acquired_ += blocks;
}

bool KvCache::grow(Request& r, int64_t tokens) {
  const int64_t need = blocks_for(tokens) - r.blocks;
  if (need <= 0) return true;
  if (need > free_ + evictable()) return false;
  int64_t from_free = std::min(need, free_);
  free_ -= from_free;
  for (int64_t k = from_free; k < need; ++k) {  // reuse the least recently used cached blocks
    cached_.erase(lru_.front());
    lru_.pop_front();
    ++evictions_;
  }
  r.blocks += need;
  acquired_ += need;
  return true;
}

void KvCache::publish(Request& r) {
  if (!prefix_caching_) return;
  const int64_t full = std::min<int64_t>(std::min(r.computed, r.input_tokens) / block_size_,
                                         static_cast<int64_t>(r.block_hashes.size()));
  for (; r.hashed < full; ++r.hashed) {
    const uint64_t h = r.block_hashes[static_cast<size_t>(r.hashed)];
    auto [it, fresh] = cached_.try_emplace(h);
    if (!fresh) continue;  // computed twice at once: this copy stays private, as vLLM does
    it->second.refs = 1;
    r.cached_blocks.push_back(h);
  }
}

void KvCache::release(Request& r) {
  // Tail first into the queue, so the head of a prefix is evicted last.
  for (auto it = r.cached_blocks.rbegin(); it != r.cached_blocks.rend(); ++it) {
    Entry& e = cached_.at(*it);
    if (--e.refs == 0) e.lru = lru_.insert(lru_.end(), *it);
  }
  free_ += r.blocks - static_cast<int64_t>(r.cached_blocks.size());
  released_ += r.blocks;
  r.blocks = 0;
  r.cached_blocks.clear();
  r.hashed = 0;
}

}  // namespace foresight::sim
