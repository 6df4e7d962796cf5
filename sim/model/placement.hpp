#pragma once
// Maps coordinates in the parallel dimensions to global GPU indices. The first dimension in the
// plan's order varies fastest, so with the default order TP groups are consecutive GPUs inside one
// NVLink domain. Expert groups fold over the tp*cp*dp ranks of a stage: flattening those
// coordinates (tp fastest, then cp, dp) gives a stage-local index, read as (etp fastest, then ep,
// then expert DP), Megatron-core's expert rank order: consecutive runs of etp ranks split each
// expert's FFN, ranks etp apart form the EP groups, ranks etp*ep apart the expert-data-parallel
// groups that reduce expert gradients.
#include <vector>

#include "sim/model/parallelism.hpp"

namespace foresight::sim {

class Placement {
 public:
  explicit Placement(const ParallelismSpec& par);
  using Coord = PerDim<int>;   // one coordinate per dimension, in table order: {tp, cp, pp, dp, ep}; ep unused
  int global(const Coord& c) const;
  // The communicator of `dim` through `c`, in communicator order (ep: the expert group).
  std::vector<int> group(ParallelDim dim, const Coord& c) const;
  // The ranks that hold the same experts as `c` (expert data parallelism), in order.
  std::vector<int> expert_dp_group(const Coord& c) const;
  int size(ParallelDim dim) const { return size_[index(dim)]; }

 private:
  int stage_local(const Coord& c) const;                 // flattened tp, cp, dp index
  int from_stage_local(int local, const Coord& c) const;  // global index of that position in c's stage
  PerDim<int> size_{}, stride_{};
};

}  // namespace foresight::sim
