#pragma once
// How tokens land on experts. A router sends each token to top_k distinct experts; which experts
// are popular is a property of the layer and the data, so shares are drawn per layer from a seeded
// distribution (uniform, Zipf with a skew, or a user's histogram), and each microbatch's per-expert
// token counts are a multinomial draw around those shares. The slowest expert-parallel rank sets
// the step: planners use the per-expert counts of the most loaded rank, never a mean.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwmodels/catalog/catalog.hpp"

namespace foresight {
class YamlNode;
}

namespace foresight::sim {

struct RoutingSpec {
  std::string distribution = "uniform";  // uniform | zipf | histogram
  double skew = 1.0;                      // zipf exponent: share of the r-th most popular expert ~ 1/r^skew
  std::vector<double> histogram;          // histogram: relative load of each expert (any scale)
  uint64_t seed = 1;
  // multinomial: each microbatch's counts are a multinomial draw around the shares (sampling noise
  // alone makes the busiest rank busier than the mean); expected: exactly the shares.
  std::string fluctuation = "multinomial";
  nlohmann::json describe() const;
};

// Reads training.routing (distribution, skew, histogram, seed); histogram length is checked
// against `experts` with the key's location.
RoutingSpec parse_routing(const YamlNode& node, int experts);

// Probability that one token-to-expert assignment goes to each expert in `layer`. Zipf ranks are a
// seeded permutation per layer, so the hot experts sit on different ranks in different layers.
std::vector<double> expert_shares(const RoutingSpec& spec, int experts, int layer);

// Tokens each expert receives in one microbatch of one MoE layer, over one expert-parallel group.
struct ExpertLoad {
  std::vector<double> tokens;   // per expert, after dropping
  double dropped = 0;           // assignments dropped at capacity
};

// `assignments` = tokens of the whole EP group x top_k, split multinomially by `shares`. With a
// capacity factor and drop_tokens, an expert keeps at most capacity_factor x assignments / experts
// (GShard/Switch capacity, over the EP group).
// fluctuation "expected" (rng null) gives each expert exactly its share.
ExpertLoad draw_expert_load(const std::vector<double>& shares, double assignments, const hw::RouterSpec& router,
                            std::mt19937_64* rng);

// The EP rank (experts placed contiguously, experts/ep per rank) with the most tokens, and the
// tokens of each of its experts.
struct RankLoad {
  int rank = 0;
  std::vector<double> expert_tokens;
  double total = 0;       // its tokens
  double mean_total = 0;  // the mean over ranks (what a balanced router would give every rank)
};
RankLoad busiest_rank(const ExpertLoad& load, int ep);

// Expected fan-out of one token over the EP group whose rank r sits in node node_of_rank[r]:
// distinct nodes its top_k experts sit on, and distinct ranks per node it reaches. With the
// model's group-limited routing (DeepSeek's n_group/topk_group), the token picks top_groups of the
// expert groups first. Estimated by sampling `samples` tokens (seeded) from `shares`: a token's
// distinct-node count lies in [1, nodes], so with 4096 tokens the mean's standard error is at most
// nodes/2/sqrt(4096) = nodes/128 (0.03 of a node for DeepSeek-V3's 4-node limit).
struct FanOut {
  double nodes = 0;           // distinct nodes per token
  double ranks_per_node = 0;  // distinct ranks per node reached
};
FanOut expected_fan_out(const std::vector<double>& shares, const hw::MoeSpec& moe, const std::vector<int>& node_of_rank,
                        uint64_t seed, int samples = 4096);

// Closed form for uniform routing without group limits: P(a set of s of E experts is hit by k
// distinct uniform picks) = 1 - C(E-s, k)/C(E, k).
double uniform_hit_probability(int experts, int set, int top_k);

}  // namespace foresight::sim
