#pragma once
// A parallelism plan: the size of every parallel dimension, the virtual pipeline factor, and the
// placement order of the dimensions over global GPU indices.
#include <vector>

#include "sim/model/parallel_dims.hpp"

namespace foresight::sim {

struct ParallelismSpec {
  int tp = 1, pp = 1, dp = 1, cp = 1, vpp = 1;
  // Expert parallelism, folded into the tp*cp*dp ranks of each stage (parallel_dims.hpp).
  int ep = 1;
  int etp = 1;   // expert tensor parallelism: each expert's FFN split over etp ranks (Megatron-core's
                 // expert_tensor_parallel_size); etp*ep ranks form one expert replica
  // Megatron-core's decoder_first/last_pipeline_num_layers: an uneven split for layer counts that
  // pp does not divide (DeepSeek-V3's 61 layers on 16 stages); 0: even split.
  int first_stage_layers = 0, last_stage_layers = 0;
  bool sequence_parallel = false;
  // Placement order, innermost (fastest-varying global index) first.
  std::vector<ParallelDim> order{ParallelDim::tp, ParallelDim::cp, ParallelDim::pp, ParallelDim::dp};
  // Megatron-core's account_for_{embedding,loss}_in_pipeline_split: the embedding / loss count as
  // one layer each when splitting layers over pipeline stages (how Llama 3 405B fits 126 layers on
  // 16 stages).
  bool account_for_embedding = false;
  bool account_for_loss = false;

  int& size(ParallelDim d);
  int size(ParallelDim d) const { return const_cast<ParallelismSpec*>(this)->size(d); }
  long long gpus() const;  // the product of every placed dimension's size
  int expert_dp() const { return tp * cp * dp / (ep * etp); }  // replicas of each expert in a stage
};

}  // namespace foresight::sim
