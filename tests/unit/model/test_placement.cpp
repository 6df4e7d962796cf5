#include <algorithm>

#include <catch2/catch.hpp>

#include "sim/model/parallel_dims.hpp"
#include "sim/model/placement.hpp"

using namespace foresight::sim;

TEST_CASE("placement puts TP innermost, then CP, PP, DP", "[model][placement]") {
  ParallelismSpec p;
  p.tp = 8, p.cp = 2, p.pp = 4, p.dp = 3;
  Placement pl(p);
  // Coordinates in table order {tp, cp, pp, dp}; strides 1, 8, 16, 64.
  CHECK(pl.group(ParallelDim::tp, {0, 1, 2, 1}) == std::vector<int>{104, 105, 106, 107, 108, 109, 110, 111});
  CHECK(pl.group(ParallelDim::cp, {3, 0, 0, 0}) == std::vector<int>{3, 11});
  CHECK(pl.group(ParallelDim::pp, {0, 0, 0, 0}) == std::vector<int>{0, 16, 32, 48});
  CHECK(pl.group(ParallelDim::dp, {0, 0, 0, 0}) == std::vector<int>{0, 64, 128});
  p.order = {ParallelDim::dp, ParallelDim::tp, ParallelDim::cp, ParallelDim::pp};
  Placement dp_first(p);
  CHECK(dp_first.group(ParallelDim::dp, {0, 0, 0, 0}) == std::vector<int>{0, 1, 2});
  CHECK(dp_first.group(ParallelDim::tp, {0, 0, 0, 0})[1] == 3);
  CHECK(p.gpus() == 8 * 2 * 4 * 3);
}

TEST_CASE("the dimension table names every dimension once, with distinct streams", "[model][dims]") {
  PerDim<int> seen{};
  for (const auto& info : kParallelDimTable) {
    ++seen[index(info.dim)];
    CHECK(parse_dim(info.name) == info.dim);
    CHECK(info.stream > 0);
    CHECK(std::string(info.breakdown_key) == std::string("exposed_") + info.name);
  }
  for (int n : seen) CHECK(n == 1);
  for (size_t i = 0; i < kParallelDimTable.size(); ++i)
    for (size_t j = i + 1; j < kParallelDimTable.size(); ++j) CHECK(kParallelDimTable[i].stream != kParallelDimTable[j].stream);
  CHECK_FALSE(parse_dim("sp"));
  CHECK(dim_names() == "tp, cp, pp, dp, ep, etp");
  CHECK(dim_names(true) == "tp, cp, pp, dp");   // ep folds over the others: no axis of its own
}

TEST_CASE("expert groups fold over a stage's tp, cp and dp ranks", "[model][placement][moe]") {
  ParallelismSpec p;
  p.tp = 2, p.pp = 2, p.dp = 8, p.ep = 4;
  CHECK(p.gpus() == 32);          // ep multiplies nothing
  CHECK(p.expert_dp() == 4);      // tp*cp*dp / ep
  Placement pl(p);
  // Default order tp, cp, pp, dp: strides tp 1, pp 2, dp 4. Stage-local index = tp + 2*dp; EP groups
  // are runs of 4 stage-local indices: tp 0-1 of dp 0-1.
  CHECK(pl.group(ParallelDim::ep, {0, 0, 0, 0, 0}) == std::vector<int>{0, 1, 4, 5});
  CHECK(pl.group(ParallelDim::ep, {1, 0, 1, 3, 0}) == std::vector<int>{10, 11, 14, 15});   // stage 1, dp 2-3
  // Expert-data-parallel peers: the same position in every EP group of the stage.
  CHECK(pl.expert_dp_group({1, 0, 0, 0, 0}) == std::vector<int>{1, 9, 17, 25});
  // Every rank of a stage is in exactly one EP group and one expert-DP group, and the two meet once.
  for (int dp = 0; dp < 8; ++dp)
    for (int tp = 0; tp < 2; ++tp) {
      const Placement::Coord c{tp, 0, 1, dp, 0};
      const auto ep_group = pl.group(ParallelDim::ep, c), edp = pl.expert_dp_group(c);
      CHECK(ep_group.size() == 4);
      CHECK(edp.size() == 4);
      int common = 0;
      for (int r : ep_group) common += std::count(edp.begin(), edp.end(), r);
      CHECK(common == 1);
      CHECK(std::count(ep_group.begin(), ep_group.end(), pl.global(c)) == 1);
    }
}

TEST_CASE("expert tensor parallelism: etp fastest, then ep, then expert DP", "[model][placement][moe]") {
  ParallelismSpec p;
  p.tp = 4, p.dp = 4, p.ep = 2, p.etp = 2;   // 16 stage-local ranks: 4 expert replicas of etp*ep = 4
  CHECK(p.expert_dp() == 4);
  Placement pl(p);
  const Placement::Coord c{1, 0, 0, 1, 0, 0};   // stage-local 1 + 4*1 = 5
  CHECK(pl.group(ParallelDim::etp, c) == std::vector<int>{4, 5});
  CHECK(pl.group(ParallelDim::ep, c) == std::vector<int>{5, 7});
  CHECK(pl.expert_dp_group(c) == std::vector<int>{1, 5, 9, 13});
}
