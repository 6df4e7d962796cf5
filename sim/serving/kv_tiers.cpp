#include "sim/serving/kv_tiers.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace foresight::sim {

KvTiers::KvTiers(std::vector<KvTierConfig> tiers, double block_bytes)
    : tiers_(std::move(tiers)), block_bytes_(block_bytes), lru_(tiers_.size()), counters_(tiers_.size()),
      store_pending_(tiers_.size(), 0.0), load_bytes_(tiers_.size(), 0.0), store_bytes_(tiers_.size(), 0.0) {
  for (const auto& t : tiers_)
    if (t.capacity_blocks < 1 || !(t.read_bandwidth > 0) || !(t.write_bandwidth > 0))
      throw std::logic_error("KV tier " + t.name + " needs a capacity and bandwidths");
}

int KvTiers::find(uint64_t hash) const {
  const auto it = where_.find(hash);
  return it == where_.end() ? -1 : static_cast<int>(it->second.tier);
}

void KvTiers::insert(size_t tier, uint64_t hash) {
  // Room first: the tier's least recently used block goes down a tier, or out.
  if (static_cast<int64_t>(lru_[tier].size()) >= tiers_[tier].capacity_blocks) {
    const uint64_t victim = lru_[tier].front();
    lru_[tier].pop_front();
    where_.erase(victim);
    ++counters_[tier].passed_down;
    if (tier + 1 < tiers_.size()) insert(tier + 1, victim);
    else ++counters_[tier].dropped;
  }
  lru_[tier].push_back(hash);
  where_[hash] = Where{tier, std::prev(lru_[tier].end())};
  ++counters_[tier].stored;
  if (tiers_[tier].on_links) store_bytes_[tier] += block_bytes_;
  else store_pending_[tier] += block_bytes_ / tiers_[tier].write_bandwidth;
}

void KvTiers::put(uint64_t hash) {
  if (tiers_.empty() || where_.count(hash)) return;
  insert(0, hash);
}

void KvTiers::erase(uint64_t hash) {
  const auto it = where_.find(hash);
  if (it == where_.end()) throw std::logic_error("KV tiers: no such block");
  lru_[it->second.tier].erase(it->second.it);
  where_.erase(it);
}

void KvTiers::load(uint64_t hash) {
  const size_t tier = where_.at(hash).tier;
  erase(hash);
  ++counters_[tier].loaded;
  if (tiers_[tier].on_links) load_bytes_[tier] += block_bytes_;
  else load_pending_ += block_bytes_ / tiers_[tier].read_bandwidth;
}

void KvTiers::forget(uint64_t hash) {
  const auto it = where_.find(hash);
  if (it == where_.end()) return;
  ++counters_[it->second.tier].forgotten;
  erase(hash);
}

bool KvTiers::Traffic::any_bytes() const {
  for (const auto* v : {&load_bytes, &store_bytes})
    for (double b : *v)
      if (b > 0) return true;
  return false;
}

KvTiers::Traffic KvTiers::take_loads() {
  Traffic t;
  t.load_s = load_pending_;
  t.load_bytes = std::exchange(load_bytes_, std::vector<double>(tiers_.size(), 0.0));
  t.store_bytes.assign(tiers_.size(), 0.0);
  load_pending_ = 0;
  load_total_ += t.load_s;
  return t;
}

KvTiers::Traffic KvTiers::drain() {
  Traffic t;
  t.load_s = load_pending_;
  for (double& s : store_pending_) {
    t.store_s = std::max(t.store_s, s);
    s = 0;
  }
  t.load_bytes = std::exchange(load_bytes_, std::vector<double>(tiers_.size(), 0.0));
  t.store_bytes = std::exchange(store_bytes_, std::vector<double>(tiers_.size(), 0.0));
  load_pending_ = 0;
  load_total_ += t.load_s;
  store_total_ += t.store_s;
  return t;
}

}  // namespace foresight::sim
