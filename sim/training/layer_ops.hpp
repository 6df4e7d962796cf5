#pragma once
// The work one representative rank does for one microbatch: every GEMM with its shape, attention,
// memory-bound ops and the tensor/context-parallel collectives between them, as ordered templates
// that the graph builder instantiates per layer and per microbatch.
#include <string>
#include <vector>

#include "hwmodels/cost/cost_model.hpp"
#include "sim/collectives/collective.hpp"
#include "sim/training/training_spec.hpp"

namespace foresight::sim {

struct WorkItem {
  enum class Kind { gemm, attention, memory, comm } kind = Kind::memory;
  std::string name;
  std::string category = "compute";   // compute items: "compute" or "recompute"; comm: the group's name
  ParallelDim group = ParallelDim::tp;  // comm items: whose communicator
  hw::GemmQuery gemm;
  hw::AttentionQuery attn;
  hw::MemoryOpQuery mem;
  CollectiveOp op = CollectiveOp::all_reduce;   // comm items
  double bytes = 0;
  std::vector<int> waits;   // indices of earlier comm items of the same template this item needs
};
using WorkTemplate = std::vector<WorkItem>;

struct MicrobatchWork {
  WorkTemplate layer_fwd;   // one transformer layer, forward
  WorkTemplate layer_bwd;   // one layer, backward, including its recomputation
  WorkTemplate embed_fwd, embed_bwd;   // first virtual stage only
  WorkTemplate head_fwd, head_bwd;     // last virtual stage only: final norm, logits, loss
};

MicrobatchWork build_microbatch_work(const TrainingSpec& spec);

// dtype strings for the cost model: GEMMs run in fp8 under fp8 training, everything else in 16 bit
// (Transformer Engine keeps attention, norms and the optimizer out of fp8).
std::string gemm_dtype(const TrainingSpec& spec);
std::string act_dtype(const TrainingSpec& spec);

}  // namespace foresight::sim
