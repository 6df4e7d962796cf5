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
  // Mixture-of-experts items scale with the routed tokens of the busiest expert rank, which the
  // graph builder draws per microbatch and layer (sim/moe/routing.hpp):
  //   expert_m / expert_k: a grouped GEMM run once per local expert, m (or k) = that expert's tokens;
  //   per_token: a memory op whose bytes and flops are per routed token of the rank;
  //   dispatch: an expert all-to-all whose bytes grow with the busiest rank's receive volume.
  enum class Routed { none, expert_m, expert_k, per_token, dispatch } routed = Routed::none;
  // dispatch items: the token fan-out of DeepEP's hierarchical algorithm (0: NCCL all-to-all).
  bool hierarchical = false;
};
using WorkTemplate = std::vector<WorkItem>;

struct MicrobatchWork {
  WorkTemplate layer_fwd;   // one transformer layer, forward
  WorkTemplate layer_bwd;   // one layer, backward, including its recomputation
  WorkTemplate moe_layer_fwd, moe_layer_bwd;   // mixture-of-experts layers (empty for dense models)
  WorkTemplate embed_fwd, embed_bwd;   // first virtual stage only
  WorkTemplate head_fwd, head_bwd;     // last virtual stage only: final norm, logits, loss
  // Multi-token prediction, last virtual stage, per module: its two norms and the 2h -> h
  // projection (then a transformer layer and the shared head, from the templates above).
  WorkTemplate mtp_in_fwd, mtp_in_bwd;
};

MicrobatchWork build_microbatch_work(const TrainingSpec& spec);

// dtype strings for the cost model: GEMMs run in fp8 under fp8 training, everything else in 16 bit
// (Transformer Engine keeps attention, norms and the optimizer out of fp8).
std::string gemm_dtype(const TrainingSpec& spec);
std::string act_dtype(const TrainingSpec& spec);

}  // namespace foresight::sim
