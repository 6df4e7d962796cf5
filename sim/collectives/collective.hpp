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
  // An all_to_all run as a mixture-of-experts dispatch or combine the way DeepEP's normal kernels
  // run it (algorithm "hierarchical"): `bytes` is one rank's tokens x token size, each token once,
  // and a token reaches this many distinct nodes, and distinct ranks in each node it reaches, on
  // average (sim/moe/routing.hpp estimates both). 0: a plain all_to_all.
  double fan_out_nodes = 0, fan_out_ranks_per_node = 0;
};

struct CollectiveResult {
  double time_s = 0;
  std::string algorithm;
  std::string protocol;
};

}  // namespace foresight::sim
