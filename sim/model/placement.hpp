#pragma once
// Maps coordinates in the parallel dimensions to global GPU indices. The first dimension in the
// plan's order varies fastest, so with the default order TP groups are consecutive GPUs inside one
// NVLink domain.
#include <vector>

#include "sim/model/parallelism.hpp"

namespace foresight::sim {

class Placement {
 public:
  explicit Placement(const ParallelismSpec& par);
  using Coord = PerDim<int>;   // one coordinate per dimension, in table order: {tp, cp, pp, dp}
  int global(const Coord& c) const;
  // The communicator of `dim` through `c`, in communicator order.
  std::vector<int> group(ParallelDim dim, const Coord& c) const;
  int size(ParallelDim dim) const { return size_[index(dim)]; }

 private:
  PerDim<int> size_{}, stride_{};
};

}  // namespace foresight::sim
