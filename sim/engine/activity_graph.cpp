#include "sim/engine/activity_graph.hpp"

#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

namespace foresight::sim {

namespace {

uint64_t hash_request(const CollectiveRequest& r) {
  uint64_t h = std::hash<int>()(static_cast<int>(r.op));
  auto mix = [&h](uint64_t v) { h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2); };
  uint64_t bits = 0;
  std::memcpy(&bits, &r.bytes, sizeof bits);
  mix(bits);
  for (int g : r.ranks) mix(static_cast<uint64_t>(static_cast<uint32_t>(g)));
  mix(std::hash<std::string>()(r.algorithm));
  mix(std::hash<std::string>()(r.protocol));
  mix(std::hash<double>()(r.fan_out_nodes));
  mix(std::hash<double>()(r.fan_out_ranks_per_node));
  return h;
}

bool same(const CollectiveRequest& a, const CollectiveRequest& b) {
  return a.op == b.op && a.bytes == b.bytes && a.ranks == b.ranks && a.algorithm == b.algorithm &&
         a.protocol == b.protocol && a.fan_out_nodes == b.fan_out_nodes &&
         a.fan_out_ranks_per_node == b.fan_out_ranks_per_node;
}

}  // namespace

int RequestTable::intern(const CollectiveRequest& req, bool* fresh) {
  const uint64_t h = hash_request(req);
  auto [lo, hi] = index_.equal_range(h);
  for (auto it = lo; it != hi; ++it)
    if (same(requests_[static_cast<size_t>(it->second)], req)) {
      if (fresh) *fresh = false;
      return it->second;
    }
  const int i = size();
  requests_.push_back(req);
  index_.emplace(h, i);
  if (fresh) *fresh = true;
  return i;
}

ActivityId ActivityGraph::add(const ActivityRecord& r, const std::vector<ActivityId>& after) {
  const auto id = static_cast<ActivityId>(size());
  for (ActivityId d : after)
    if (d < 0 || d >= id) throw std::logic_error("an activity waits for an activity that was not started before it");
  acts_.push_back(r);
  succ_.emplace_back();
  ActivityRecord& rec = acts_.back();
  rec.pending = 0;
  rec.done = rec.started = false;
  for (ActivityId d : after) {
    if (d >= base_ && !(*this)[d].done) {
      succ_[static_cast<size_t>(d - base_)].push_back(id);
      ++rec.pending;
    }
  }
  if (rec.lane.rank >= 0) {
    const int64_t key = (static_cast<int64_t>(rec.lane.rank) << 32) | static_cast<uint32_t>(rec.lane.stream);
    auto [it, fresh] = lane_tail_.try_emplace(key, id);
    if (!fresh) {
      const ActivityId prev = it->second;
      it->second = id;
      if (prev >= base_ && !(*this)[prev].done) {
        succ_[static_cast<size_t>(prev - base_)].push_back(id);
        ++rec.pending;
      }
    }
  }
  return id;
}

void ActivityGraph::complete(ActivityId id, double time, std::vector<ActivityId>& ready) {
  ActivityRecord& rec = (*this)[id];
  rec.done = true;
  rec.end = time;
  auto& succ = succ_[static_cast<size_t>(id - base_)];
  for (ActivityId s : succ)
    if (--(*this)[s].pending == 0) ready.push_back(s);
  std::vector<ActivityId>().swap(succ);  // a finished activity's successor list is never read again
}

void ActivityGraph::forget_completed() {
  while (done_prefix_ < acts_.size() && acts_[done_prefix_].done) ++done_prefix_;
  // Erase in bulk, once the completed prefix is half of what is kept: amortised O(1) per activity.
  constexpr size_t kMinBatch = 4096;
  if (done_prefix_ < kMinBatch || done_prefix_ * 2 < acts_.size()) return;
  acts_.erase(acts_.begin(), acts_.begin() + static_cast<std::ptrdiff_t>(done_prefix_));
  succ_.erase(succ_.begin(), succ_.begin() + static_cast<std::ptrdiff_t>(done_prefix_));
  base_ += static_cast<ActivityId>(done_prefix_);
  done_prefix_ = 0;
}

}  // namespace foresight::sim
