#pragma once
// What a serving run's GPUs cost and draw: $/h from serving.cost's prices, board power at the
// catalog TDP, and both per output token at the throughput the run achieved.
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwmodels/catalog/catalog.hpp"
#include "sim/serving/cost_spec.hpp"

namespace foresight::sim {

// `gpus`: each pool's GPU type and GPU count (a type may appear twice: their counts add).
nlohmann::json serving_cost_json(const CostSpec& cost, const std::vector<std::pair<const hw::GpuSpec*, int>>& gpus,
                                 double output_tokens_per_s);

}  // namespace foresight::sim
