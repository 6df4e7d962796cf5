#pragma once
// A collective as users and planners name it. Algorithms decompose it into phases of transfers
// (collectives/decompose.hpp); the analytical and flow network models time those phases.
#include <string>
#include <vector>

namespace foresight::sim {

enum class CollectiveOp { all_reduce, all_gather, reduce_scatter, all_to_all, broadcast, reduce, send_recv };

const char* op_name(CollectiveOp op);
CollectiveOp parse_op(const std::string& name);  // throws std::invalid_argument

// nccl-tests conventions: `bytes` is the per-rank buffer size that nccl-tests prints as "size"
// (all_gather: the gathered output; reduce_scatter: the input). busbw factor per op from
// nccl-tests PERFORMANCE.md.
double busbw_factor(CollectiveOp op, int ranks);

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
