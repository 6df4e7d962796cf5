#pragma once
// Collective operations by name, and nccl-tests' bus-bandwidth definition: the vocabulary the
// simulator, the calibration importers and the reports share.
#include <string>

namespace foresight {

enum class CollectiveOp { all_reduce, all_gather, reduce_scatter, all_to_all, broadcast, reduce, send_recv };

const char* op_name(CollectiveOp op);
CollectiveOp parse_op(const std::string& name);  // throws std::invalid_argument naming the choices

// nccl-tests conventions: `bytes` is the per-rank buffer size that nccl-tests prints as "size"
// (all_gather: the gathered output; reduce_scatter: the input). busbw = algbw x this factor, per op,
// from nccl-tests doc/PERFORMANCE.md.
double busbw_factor(CollectiveOp op, int ranks);

}  // namespace foresight
