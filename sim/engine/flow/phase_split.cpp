#include "sim/engine/flow/phase_split.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <unordered_map>

namespace foresight::sim::flow {

namespace {

class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
  size_t find(size_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void unite(size_t a, size_t b) { parent_[find(a)] = find(b); }

 private:
  std::vector<size_t> parent_;
};

uint64_t bits(double v) {
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// A component's shape with its links renamed in order of first use: equal shapes are the same
// max-min problem. The simulator carries whole bytes, so sizes compare as SimGrid sees them.
std::vector<uint64_t> shape(const std::vector<size_t>& members, const std::vector<Transfer>& transfers,
                            const std::vector<hw::Route>& routes, const hw::Cluster& cluster) {
  std::unordered_map<int, uint64_t> local;
  std::vector<uint64_t> s;
  for (size_t t : members) {
    s.push_back(static_cast<uint64_t>(std::max(1.0, std::round(transfers[t].wire_bytes))));
    s.push_back(routes[t].links.size());
    for (int l : routes[t].links) {
      auto [it, fresh] = local.try_emplace(l, local.size());
      s.push_back(it->second);
      if (fresh) s.push_back(bits(cluster.links()[static_cast<size_t>(l)].bandwidth));
    }
  }
  return s;
}

struct ShapeHash {
  size_t operator()(const std::vector<uint64_t>& v) const {
    uint64_t h = v.size();
    for (uint64_t x : v) h ^= x + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    return h;
  }
};

}  // namespace

PhaseSplit split_phase(const std::vector<Transfer>& transfers, const hw::Cluster& cluster, int groups) {
  const size_t n = transfers.size();
  std::vector<hw::Route> routes(n);
  UnionFind uf(n);
  std::unordered_map<int, size_t> link_owner;  // link -> a transfer using it
  for (size_t t = 0; t < n; ++t) {
    cluster.route_endpoints(transfers[t].src, transfers[t].dst, routes[t]);
    for (int l : routes[t].links) {
      auto [it, fresh] = link_owner.try_emplace(l, t);
      if (!fresh) uf.unite(t, it->second);
    }
  }
  // Components in order of their first transfer, members in transfer order.
  std::unordered_map<size_t, size_t> index;
  std::vector<std::vector<size_t>> components;
  for (size_t t = 0; t < n; ++t) {
    auto [it, fresh] = index.try_emplace(uf.find(t), components.size());
    if (fresh) components.emplace_back();
    components[it->second].push_back(t);
  }
  PhaseSplit out;
  out.components = static_cast<int>(components.size());
  std::unordered_map<std::vector<uint64_t>, size_t, ShapeHash> seen;
  std::vector<const std::vector<size_t>*> kept;
  for (const auto& c : components)
    if (seen.try_emplace(shape(c, transfers, routes, cluster), kept.size()).second) kept.push_back(&c);
  out.distinct = static_cast<int>(kept.size());
  // Largest first onto the least-loaded group (LPT), so the groups' simulations take similar time.
  std::stable_sort(kept.begin(), kept.end(), [](auto* a, auto* b) { return a->size() > b->size(); });
  out.groups.resize(static_cast<size_t>(std::max(1, std::min<int>(groups, out.distinct))));
  std::vector<size_t> load(out.groups.size(), 0);
  for (const auto* c : kept) {
    const size_t g = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[g] += c->size();
    for (size_t t : *c) out.groups[g].push_back(transfers[t]);
  }
  return out;
}

}  // namespace foresight::sim::flow
