#include "sim/training/model_math.hpp"

namespace foresight::sim {

double model_flops_per_iteration(const TrainingSpec& s) {
  const double tokens = double(s.global_batch) * s.sequence_length;
  const ParamCounts c = count_params(s.model);
  return 6.0 * c.matmul * tokens + 6.0 * s.model.layers * double(s.sequence_length) * s.model.heads * attention_head_dim(s.model) * tokens;
}

double megatron_eq3_flops(const TrainingSpec& s) {
  const double B = s.global_batch, sl = s.sequence_length, l = s.model.layers, h = s.model.hidden,
               V = s.model.vocab;
  return 96.0 * B * sl * l * h * h * (1.0 + sl / (6.0 * h) + V / (16.0 * l * h));
}

}  // namespace foresight::sim
