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
  CHECK_FALSE(parse_dim("ep"));
  CHECK(dim_names() == "tp, cp, pp, dp");
}
