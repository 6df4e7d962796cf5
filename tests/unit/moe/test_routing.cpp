// Routing: shares, per-microbatch expert loads, the busiest rank and the token fan-out, against
// closed forms and sampling bounds.
#include <cmath>
#include <numeric>

#include <catch2/catch.hpp>

#include "sim/moe/routing.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {
double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }
}  // namespace

TEST_CASE("expert shares: uniform, zipf and histogram are distributions", "[moe][routing]") {
  RoutingSpec r;
  auto u = expert_shares(r, 64, 0);
  CHECK(sum(u) == Approx(1.0));
  for (double p : u) CHECK(p == Approx(1.0 / 64));
  r.distribution = "zipf", r.skew = 1.0;
  auto z = expert_shares(r, 64, 3);
  CHECK(sum(z) == Approx(1.0));
  // Zipf: the shares are 1/rank normalised by the harmonic number, in a seeded order per layer.
  double h = 0;
  for (int i = 1; i <= 64; ++i) h += 1.0 / i;
  std::vector<double> sorted = z;
  std::sort(sorted.rbegin(), sorted.rend());
  CHECK(sorted[0] == Approx(1.0 / h));
  CHECK(sorted[63] == Approx(1.0 / (64 * h)));
  CHECK(expert_shares(r, 64, 3) == z);   // deterministic
  CHECK(expert_shares(r, 64, 4) != z);   // a different layer has different hot experts
  r.distribution = "histogram", r.histogram = {3, 1, 0, 0};
  CHECK(expert_shares(r, 4, 0) == std::vector<double>{0.75, 0.25, 0, 0});
}

TEST_CASE("expert loads conserve assignments; multinomial draws centre on the shares", "[moe][routing]") {
  RoutingSpec r;
  const auto shares = expert_shares(r, 32, 0);
  hw::RouterSpec dropless;
  std::mt19937_64 rng(7);
  const double A = 32768;   // 4096 tokens x top 8
  std::vector<double> mean(32, 0.0);
  const int draws = 400;
  for (int d = 0; d < draws; ++d) {
    const ExpertLoad load = draw_expert_load(shares, A, dropless, &rng);
    CHECK(sum(load.tokens) == A);   // nothing lost without dropping
    CHECK(load.dropped == 0);
    for (int e = 0; e < 32; ++e) mean[size_t(e)] += load.tokens[size_t(e)] / draws;
  }
  // Each expert's count is Binomial(A, 1/32): the mean of 400 draws lies within 5 standard errors.
  const double se = std::sqrt(A * (1.0 / 32) * (31.0 / 32) / draws);
  for (double m : mean) CHECK(std::fabs(m - A / 32) < 5 * se);
  // Expected fluctuation: exactly the shares.
  const ExpertLoad exact = draw_expert_load(shares, A, dropless, nullptr);
  for (double t : exact.tokens) CHECK(t == A / 32);
}

TEST_CASE("capacity dropping keeps capacity_factor x the fair share", "[moe][routing]") {
  // One hot expert with 4/7 of the load among 4 experts; capacity 1.25 x A/4.
  const std::vector<double> shares{4.0 / 7, 1.0 / 7, 1.0 / 7, 1.0 / 7};
  hw::RouterSpec router{1.25, true};
  const double A = 7000;
  const ExpertLoad load = draw_expert_load(shares, A, router, nullptr);
  const double cap = std::ceil(1.25 * A / 4);
  CHECK(load.tokens[0] == cap);
  CHECK(load.dropped == Approx(4000 - cap));
  CHECK(load.tokens[1] == Approx(1000));
}

TEST_CASE("the busiest rank: none under balanced routing, the closed form under one hot expert", "[moe][routing]") {
  const int E = 64, ep = 8, per = E / ep;
  const double A = 1 << 16;
  hw::RouterSpec dropless;
  RoutingSpec uniform;
  const RankLoad flat = busiest_rank(draw_expert_load(expert_shares(uniform, E, 0), A, dropless, nullptr), ep);
  CHECK(flat.total == Approx(flat.mean_total));
  // Histogram: expert 0 weighs H, the others 1. Rank 0 holds experts 0..7:
  // (H + per - 1) / (H + E - 1) of the assignments, against A/ep on average.
  const double H = 20;
  RoutingSpec hot;
  hot.distribution = "histogram";
  hot.histogram.assign(size_t(E), 1.0);
  hot.histogram[0] = H;
  const RankLoad busy = busiest_rank(draw_expert_load(expert_shares(hot, E, 0), A, dropless, nullptr), ep);
  CHECK(busy.rank == 0);
  CHECK(busy.total == Approx(A * (H + per - 1) / (H + E - 1)));
  CHECK(busy.mean_total == Approx(A / ep));
  CHECK(busy.expert_tokens[0] == Approx(A * H / (H + E - 1)));
}

TEST_CASE("token fan-out: uniform routing matches the hypergeometric closed form", "[moe][routing]") {
  // 64 experts on 16 ranks in 4 nodes, top 6, no group limit. A node holds 16 experts: a token
  // reaches it with probability 1 - C(48,6)/C(64,6); a rank (4 experts) with 1 - C(60,6)/C(64,6).
  hw::MoeSpec moe;
  moe.experts = 64, moe.top_k = 6;
  std::vector<int> node_of(16);
  for (int r = 0; r < 16; ++r) node_of[size_t(r)] = r / 4;
  const auto shares = std::vector<double>(64, 1.0 / 64);
  const int samples = 20000;
  const FanOut f = expected_fan_out(shares, moe, node_of, 3, samples);
  const double p_node = uniform_hit_probability(64, 16, 6), p_rank = uniform_hit_probability(64, 4, 6);
  // Distinct nodes per token is at most 4: its sampling error is below 2/sqrt(samples); 4 of those.
  CHECK(std::fabs(f.nodes - 4 * p_node) < 4 * 2.0 / std::sqrt(samples));
  // Distinct ranks per reached node is a ratio of two sample means: a token reaches at most 6 ranks,
  // so the numerator's standard error is below 3/sqrt(20000) = 0.021 on a mean near 5.3 (0.4 %);
  // 2 % is four such errors plus the denominator's.
  CHECK(f.ranks_per_node == Approx(16 * p_rank / (4 * p_node)).epsilon(0.02));
  // The closed form itself, by hand: C(48,6)/C(64,6).
  double miss = 1;
  for (int i = 0; i < 6; ++i) miss *= (48.0 - i) / (64.0 - i);
  CHECK(p_node == Approx(1 - miss));
}

TEST_CASE("group-limited routing never reaches more nodes than top_groups", "[moe][routing]") {
  // DeepSeek-V3: 256 experts in 8 groups, top 4 groups, top 8 experts; EP64 on 8 nodes puts one
  // group per node, so a token reaches at most 4 nodes.
  hw::MoeSpec moe;
  moe.experts = 256, moe.top_k = 8, moe.expert_groups = 8, moe.top_groups = 4;
  std::vector<int> node_of(64);
  for (int r = 0; r < 64; ++r) node_of[size_t(r)] = r / 8;
  const FanOut limited = expected_fan_out(std::vector<double>(256, 1.0 / 256), moe, node_of, 1);
  CHECK(limited.nodes <= 4.0);
  CHECK(limited.nodes > 3.0);   // 8 picks over 4 groups rarely leave a chosen group empty
  moe.expert_groups = 0, moe.top_groups = 0;
  const FanOut free = expected_fan_out(std::vector<double>(256, 1.0 / 256), moe, node_of, 1);
  CHECK(free.nodes > limited.nodes);
}
