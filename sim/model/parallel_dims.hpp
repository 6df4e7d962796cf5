#pragma once
// The parallel dimensions of a plan, as one table: name, the communication stream its collectives
// run on, the breakdown slot its exposed communication is charged to, and the default placement
// order (the table's order: innermost, fastest-varying global GPU index, first). Training, serving
// and the reports iterate this table; adding a dimension (expert parallelism) means a row here and
// a field in ParallelismSpec. Expert parallelism is a folded dimension (Megatron-core's "MoE
// parallel folding"): expert layers regroup the tp*cp*dp ranks of a pipeline stage into ep groups
// of consecutive ranks, so ep multiplies no GPU count and has no axis of its own in the placement.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace foresight::sim {

enum class ParallelDim : int { tp, cp, pp, dp, ep, etp };
inline constexpr int kParallelDims = 6;

struct ParallelDimInfo {
  ParallelDim dim;
  const char* name;            // scenario key and task category: "tp"
  const char* title;           // "tensor parallelism"
  int stream;                  // the rank's stream its collectives run on (0 is compute)
  const char* stream_label;    // trace thread name of that stream
  const char* breakdown_key;   // JSON slot of its exposed communication: "exposed_tp"
  const char* breakdown_label; // report line: "exposed TP comm"
  bool placed = true;          // an axis of the placement whose size multiplies the GPU count
};

// tp innermost (TP groups are consecutive GPUs of one NVLink domain), then cp, pp, dp. Pipeline
// sends use stream 3 (forward) and 4 (backward), data parallelism 5 (gradients) and 6 (parameter
// gathers); training_graph.hpp names the extra ones. Expert dispatch/combine all-to-alls use 7,
// the expert-tensor-parallel gathers and reduce-scatters around the expert GEMMs 8.
inline constexpr std::array<ParallelDimInfo, kParallelDims> kParallelDimTable{{
    {ParallelDim::tp, "tp", "tensor parallelism", 1, "tp comm", "exposed_tp", "exposed TP comm"},
    {ParallelDim::cp, "cp", "context parallelism", 2, "cp comm", "exposed_cp", "exposed CP comm"},
    {ParallelDim::pp, "pp", "pipeline parallelism", 3, "pp send fwd", "exposed_pp", "exposed PP comm"},
    {ParallelDim::dp, "dp", "data parallelism", 5, "dp grad", "exposed_dp", "exposed DP comm"},
    {ParallelDim::ep, "ep", "expert parallelism", 7, "ep all-to-all", "exposed_ep", "exposed EP comm", false},
    {ParallelDim::etp, "etp", "expert tensor parallelism", 8, "etp comm", "exposed_etp", "exposed ETP comm", false},
}};

inline constexpr size_t index(ParallelDim d) { return static_cast<size_t>(d); }
inline constexpr const ParallelDimInfo& dim_info(ParallelDim d) { return kParallelDimTable[index(d)]; }
inline constexpr const char* dim_name(ParallelDim d) { return dim_info(d).name; }
std::optional<ParallelDim> parse_dim(std::string_view name);
std::string dim_names(bool placed_only = false);  // "tp, cp, pp, dp, ep", for error messages

template <typename T>
using PerDim = std::array<T, kParallelDims>;

}  // namespace foresight::sim
