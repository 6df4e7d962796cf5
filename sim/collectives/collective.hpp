#pragma once
// A collective as users and planners name it. Algorithms decompose it into phases of transfers
// (collectives/plan.hpp); the analytical and flow network models time those phases.
#include <string>
#include <vector>

#include "core/collective_op.hpp"

namespace foresight::sim {

struct CollectiveRequest {
  CollectiveOp op = CollectiveOp::all_reduce;
  double bytes = 0;
  std::vector<int> ranks;          // global GPU indices, in communicator order
  std::string algorithm = "auto";  // auto | ring | tree | nvls | hierarchical | direct
  std::string protocol = "auto";   // auto | ll | ll128 | simple
};

struct CollectiveResult {
  double time_s = 0;
  std::string algorithm;
  std::string protocol;
};

}  // namespace foresight::sim
