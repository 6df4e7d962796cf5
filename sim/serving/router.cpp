#include "sim/serving/router.hpp"

#include <algorithm>
#include <limits>

#include <boost/random/uniform_int_distribution.hpp>

namespace foresight::sim {

namespace {
constexpr size_t kRecentPrefixes = 64;  // how far back `recent_prefix` looks, per replica
}

Router::Router(const ServingSpec& spec, uint64_t seed, int replicas)
    : spec_(spec), rng_(seed ^ 0x7E57AB1EULL), recent_(static_cast<size_t>(replicas)) {}

double Router::kv_load(const Replica& x) const {
  const auto& kv = x.kv();
  return double(kv.in_use() + kv.blocks_for(x.waiting_prefill_tokens()) + kv.blocks_for(x.inbound_tokens())) /
         double(kv.total());
}

double Router::cost(const Request& r, const Replica& x, int index) const {
  const auto& w = spec_.router;
  const auto& kv = x.kv();
  const double occupancy = std::min(1.0, double(kv.in_use()) / double(kv.total()));
  const double active = std::min(1.0, double(x.outstanding()) / double(spec_.scheduler.max_num_seqs));
  const double prompt_blocks = double(std::max<size_t>(1, r.block_hashes.size()));
  const double cache_match = r.block_hashes.empty() ? 0.0 : double(x.prefix_match(r)) / prompt_blocks;
  // Decode steps read every running sequence's KV: the share of the cache they stream.
  const double mem_bw = std::min(1.0, double(x.running_context_tokens()) / (double(kv.total()) * kv.block_size()));
  double recent = 0;
  if (!r.block_hashes.empty()) {
    const auto& q = recent_[static_cast<size_t>(index)];
    recent = std::find(q.begin(), q.end(), r.block_hashes.front()) != q.end() ? 1.0 : 0.0;
  }
  return w.w_occupancy * occupancy + w.w_active * active + w.w_mem_bw * mem_bw - w.w_cache * cache_match -
         w.w_recent_prefix * recent;
}

int Router::choose(const Request& r, const std::vector<Replica*>& replicas) {
  const int n = static_cast<int>(replicas.size());
  const std::string& p = spec_.router.policy;
  int best = 0;
  auto argmin = [&](auto&& score) {
    double lowest = std::numeric_limits<double>::infinity();
    for (int i = 0; i < n; ++i) {
      const double s = score(i);
      if (s < lowest) lowest = s, best = i;
    }
  };
  if (n == 1) {
    best = 0;
  } else if (p == "round_robin") {
    best = next_;
    next_ = (next_ + 1) % n;
  } else if (p == "least_requests") {
    argmin([&](int i) { return double(replicas[static_cast<size_t>(i)]->outstanding()); });
  } else if (p == "least_kv") {
    argmin([&](int i) { return kv_load(*replicas[static_cast<size_t>(i)]); });
  } else if (p == "prefix_aware") {
    // Longest cached match first; then where the same prefix was sent recently (its KV may still
    // be computing, as SGLang's router tracks what it routed, not only what is cached); then the
    // fewest outstanding requests.
    argmin([&](int i) {
      const Replica& x = *replicas[static_cast<size_t>(i)];
      const auto& q = recent_[static_cast<size_t>(i)];
      const bool sent = !r.block_hashes.empty() && std::find(q.begin(), q.end(), r.block_hashes.front()) != q.end();
      return -double(x.prefix_match(r)) * 1e9 - (sent ? 1e8 : 0.0) + double(x.outstanding());
    });
  } else if (p == "power_of_two") {
    boost::random::uniform_int_distribution<int> pick(0, n - 1);
    const int a = pick(rng_);
    int b = pick(rng_);
    while (b == a) b = pick(rng_);
    best = replicas[static_cast<size_t>(b)]->outstanding() < replicas[static_cast<size_t>(a)]->outstanding() ? b : a;
  } else {
    argmin([&](int i) { return cost(r, *replicas[static_cast<size_t>(i)], i); });
  }
  if (!r.block_hashes.empty()) {
    auto& q = recent_[static_cast<size_t>(best)];
    q.push_back(r.block_hashes.front());
    if (q.size() > kRecentPrefixes) q.pop_front();
  }
  return best;
}

}  // namespace foresight::sim
