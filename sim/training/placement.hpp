#pragma once
// Maps (tp, cp, pp, dp) coordinates to global GPU indices. The first dimension in `order` varies
// fastest, so with the default order TP groups are consecutive GPUs inside one NVLink domain.
#include <array>
#include <string>
#include <vector>

#include "sim/training/training_spec.hpp"

namespace foresight::sim {

class Placement {
 public:
  explicit Placement(const ParallelismSpec& par);
  struct Coord { int tp = 0, cp = 0, pp = 0, dp = 0; };
  int global(const Coord& c) const;
  // The communicator of `dim` ("tp", "cp", "pp", "dp") through `c`, in communicator order.
  std::vector<int> group(const std::string& dim, const Coord& c) const;
  int size(const std::string& dim) const;

 private:
  static int index(const std::string& dim);
  std::array<int, 4> size_{}, stride_{};   // indexed tp, cp, pp, dp
};

}  // namespace foresight::sim
