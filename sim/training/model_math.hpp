#pragma once
// The FLOP conventions training reports throughput in. The planner's per-op FLOPs must add up to
// these (tested).
#include "sim/model/param_counts.hpp"
#include "sim/training/training_spec.hpp"

namespace foresight::sim {

// Model FLOPs per iteration, the PaLM-style convention: 6*N_matmul*T + 6*L*s*h*T, where the second
// term is QK^T and PV forward+backward with causal masking (half of the full 12*L*s*h*T).
// Recomputation is not counted (it is not useful work).
double model_flops_per_iteration(const TrainingSpec& spec);

// Megatron-LM (Narayanan et al. 2021) Eq. 3, which counts full activation recomputation and
// non-causal attention: F = 96*B*s*l*h^2*(1 + s/(6h) + V/(16*l*h)).
double megatron_eq3_flops(const TrainingSpec& spec);

}  // namespace foresight::sim
