#include "sim/moe/routing.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "core/yaml_reader.hpp"

namespace foresight::sim {

nlohmann::json RoutingSpec::describe() const {
  nlohmann::json j{{"distribution", distribution}, {"seed", seed}, {"fluctuation", fluctuation}};
  if (distribution == "zipf") j["skew"] = skew;
  if (distribution == "histogram") j["histogram"] = histogram;
  return j;
}

RoutingSpec parse_routing(const YamlNode& node, int experts) {
  node.expect_only({"distribution", "skew", "histogram", "seed", "fluctuation"});
  RoutingSpec r;
  if (auto d = node.find("distribution")) r.distribution = d->as_choice({"uniform", "zipf", "histogram"});
  if (auto s = node.find("skew")) {
    if (r.distribution != "zipf") s->fail("skew applies to distribution: zipf");
    r.skew = s->as_double();
    if (!(r.skew >= 0 && r.skew <= 8)) s->fail("must be between 0 (uniform) and 8");
  }
  if (auto h = node.find("histogram")) {
    if (r.distribution != "histogram") h->fail("histogram applies to distribution: histogram");
    double sum = 0;
    for (const auto& item : h->items()) {
      const double v = item.as_double();
      if (!(v >= 0 && std::isfinite(v))) item.fail("a histogram entry is a non-negative load");
      r.histogram.push_back(v);
      sum += v;
    }
    if (int(r.histogram.size()) != experts)
      h->fail(fmt::format("has {} entries; the model has {} experts", r.histogram.size(), experts));
    if (!(sum > 0)) h->fail("all entries are zero");
  } else if (r.distribution == "histogram") {
    node.fail("distribution: histogram needs a histogram list (one load per expert)");
  }
  if (auto f = node.find("fluctuation")) r.fluctuation = f->as_choice({"multinomial", "expected"});
  if (auto s = node.find("seed")) r.seed = uint64_t(s->as_int_in(0, int64_t(1) << 62));
  return r;
}

std::vector<double> expert_shares(const RoutingSpec& spec, int experts, int layer) {
  std::vector<double> w(size_t(experts), 1.0);
  if (spec.distribution == "histogram") {
    w = spec.histogram;
  } else if (spec.distribution == "zipf") {
    std::vector<int> rank(static_cast<size_t>(experts));
    std::iota(rank.begin(), rank.end(), 0);
    std::mt19937_64 rng(spec.seed * 0x9E3779B97F4A7C15ULL + uint64_t(layer));
    std::shuffle(rank.begin(), rank.end(), rng);
    for (int e = 0; e < experts; ++e) w[size_t(e)] = 1.0 / std::pow(rank[size_t(e)] + 1.0, spec.skew);
  }
  const double sum = std::accumulate(w.begin(), w.end(), 0.0);
  for (double& x : w) x /= sum;
  return w;
}

ExpertLoad draw_expert_load(const std::vector<double>& shares, double assignments, const hw::RouterSpec& router,
                            std::mt19937_64* rng) {
  ExpertLoad out;
  out.tokens.resize(shares.size(), 0.0);
  if (!rng)
    for (size_t e = 0; e < shares.size(); ++e) out.tokens[e] = shares[e] * assignments;
  // Multinomial by conditional binomials: expert e gets Bin(left, p_e / p_left).
  auto left = rng ? int64_t(std::llround(assignments)) : 0;
  double p_left = 1.0;
  for (size_t e = 0; e < shares.size() && left > 0; ++e) {
    const double p = e + 1 == shares.size() ? 1.0 : std::clamp(shares[e] / p_left, 0.0, 1.0);
    const int64_t n = p >= 1.0 ? left : std::binomial_distribution<int64_t>(left, p)(*rng);
    out.tokens[e] = double(n);
    left -= n;
    p_left -= shares[e];
    if (p_left <= 0) p_left = 1e-300;
  }
  if (router.drop_tokens) {
    const double capacity = std::ceil(router.capacity_factor * assignments / double(shares.size()));
    for (double& t : out.tokens)
      if (t > capacity) out.dropped += t - capacity, t = capacity;
  }
  return out;
}

RankLoad busiest_rank(const ExpertLoad& load, int ep) {
  const size_t per = load.tokens.size() / size_t(ep);
  RankLoad best;
  double all = 0;
  for (int r = 0; r < ep; ++r) {
    const auto first = load.tokens.begin() + long(per * size_t(r));
    const double total = std::accumulate(first, first + long(per), 0.0);
    all += total;
    if (r == 0 || total > best.total) {
      best.rank = r;
      best.total = total;
      best.expert_tokens.assign(first, first + long(per));
    }
  }
  best.mean_total = all / ep;
  return best;
}

double uniform_hit_probability(int experts, int set, int top_k) {
  // C(E-s, k)/C(E, k) = prod_{i<k} (E-s-i)/(E-i)
  double miss = 1.0;
  for (int i = 0; i < top_k; ++i) miss *= std::max(0.0, double(experts - set - i)) / double(experts - i);
  return 1.0 - miss;
}

FanOut expected_fan_out(const std::vector<double>& shares, const hw::MoeSpec& moe, const std::vector<int>& node_of_rank,
                        uint64_t seed, int samples) {
  const int E = int(shares.size()), k = moe.top_k, ep = int(node_of_rank.size());
  const int per_rank = E / ep;
  const int nodes = *std::max_element(node_of_rank.begin(), node_of_rank.end()) + 1;
  const int groups = moe.expert_groups > 0 ? moe.expert_groups : 1;
  const int top_groups = moe.expert_groups > 0 ? moe.top_groups : 1;
  const int per_group = E / groups;
  std::mt19937_64 rng(seed ^ 0xD1B54A32D192ED03ULL);
  std::exponential_distribution<double> expo(1.0);
  // A token's choice: top_groups groups, then top_k experts among them, each without replacement
  // and weighted by the shares (Efraimidis-Spirakis keys: the k largest u^(1/w), via -Exp/w).
  std::vector<double> key(static_cast<size_t>(E)), group_key(static_cast<size_t>(groups));
  std::vector<int> order(static_cast<size_t>(E)), gorder(static_cast<size_t>(groups));
  std::vector<char> group_on(static_cast<size_t>(groups));
  std::vector<int> node_stamp(size_t(nodes), -1), rank_stamp(size_t(ep), -1);
  double node_hits = 0, rank_hits = 0;
  for (int t = 0; t < samples; ++t) {
    std::fill(group_on.begin(), group_on.end(), char(1));
    if (top_groups < groups) {
      for (int g = 0; g < groups; ++g) {
        double w = 0;
        for (int e = g * per_group; e < (g + 1) * per_group; ++e) w += shares[size_t(e)];
        group_key[size_t(g)] = w > 0 ? -expo(rng) / w : -INFINITY;
      }
      std::iota(gorder.begin(), gorder.end(), 0);
      std::partial_sort(gorder.begin(), gorder.begin() + top_groups, gorder.end(),
                        [&](int a, int b) { return group_key[size_t(a)] > group_key[size_t(b)]; });
      std::fill(group_on.begin(), group_on.end(), char(0));
      for (int i = 0; i < top_groups; ++i) group_on[size_t(gorder[size_t(i)])] = 1;
    }
    for (int e = 0; e < E; ++e) {
      const double w = shares[size_t(e)];
      key[size_t(e)] = group_on[size_t(e / per_group)] && w > 0 ? -expo(rng) / w : -INFINITY;
    }
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int a, int b) { return key[size_t(a)] > key[size_t(b)]; });
    for (int i = 0; i < k; ++i) {
      const int r = order[size_t(i)] / per_rank, n = node_of_rank[size_t(r)];
      if (rank_stamp[size_t(r)] != t) rank_stamp[size_t(r)] = t, ++rank_hits;
      if (node_stamp[size_t(n)] != t) node_stamp[size_t(n)] = t, ++node_hits;
    }
  }
  FanOut f;
  f.nodes = node_hits / samples;
  f.ranks_per_node = node_hits > 0 ? rank_hits / node_hits : 0;
  return f;
}

}  // namespace foresight::sim
