#pragma once
// Closed-form counts for a dense decoder-only transformer: parameters and the FLOP conventions
// used to report throughput. The planner's per-op FLOPs must add up to these (tested).
#include "hwmodels/catalog/catalog.hpp"
#include "sim/training/training_spec.hpp"

namespace foresight::sim {

struct ParamCounts {
  double per_layer = 0;     // all weights, biases and norm parameters of one transformer layer
  double layer_matmul = 0;  // of which GEMM weights
  double embedding = 0;     // V*h (learned position embeddings are not modelled)
  double output = 0;        // V*h when untied, else 0
  double final_norm = 0;
  double total = 0;
  double matmul = 0;        // GEMM weights that every token multiplies: layers*layer_matmul + V*h (logits)
};

ParamCounts count_params(const hw::ModelSpec& m);
double head_dim(const hw::ModelSpec& m);  // the catalog's head_dim, else hidden/heads
bool has_biases(const hw::ModelSpec& m);  // GPT-style (layernorm) models carry biases and dropout

// Model FLOPs per iteration, the PaLM-style convention: 6*N_matmul*T + 6*L*s*h*T, where the second
// term is QK^T and PV forward+backward with causal masking (half of the full 12*L*s*h*T).
// Recomputation is not counted (it is not useful work).
double model_flops_per_iteration(const TrainingSpec& spec);

// Megatron-LM (Narayanan et al. 2021) Eq. 3, which counts full activation recomputation and
// non-causal attention: F = 96*B*s*l*h^2*(1 + s/(6h) + V/(16*l*h)).
double megatron_eq3_flops(const TrainingSpec& spec);

}  // namespace foresight::sim
