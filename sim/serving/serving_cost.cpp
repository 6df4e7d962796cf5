#include "sim/serving/serving_cost.hpp"

namespace foresight::sim {

nlohmann::json serving_cost_json(const CostSpec& cost, const std::vector<std::pair<const hw::GpuSpec*, int>>& gpus,
                                 double output_tokens_per_s) {
  nlohmann::json count = nlohmann::json::object();
  double usd = 0, watts = 0;
  bool tdp_known = true;
  for (const auto& [gpu, n] : gpus) {
    count[gpu->id] = count.value(gpu->id, 0) + n;
    usd += n * cost.usd_per_gpu_hour.at(gpu->id);
    watts += n * gpu->tdp;
    tdp_known = tdp_known && gpu->tdp > 0;
  }
  nlohmann::json j{{"gpus", count}, {"usd_per_gpu_hour", cost.usd_per_gpu_hour}, {"usd_per_hour", usd}, {"source", cost.source}};
  if (output_tokens_per_s > 0) j["usd_per_million_output_tokens"] = usd / (output_tokens_per_s * 3600 / 1e6);
  if (tdp_known) {
    j["power_w_at_tdp"] = watts;
    if (output_tokens_per_s > 0) j["joules_per_output_token_at_tdp"] = watts / output_tokens_per_s;
    j["power_source"] = "catalog TDP per GPU (datasheets): an upper bound, GPUs serving rarely draw it";
  }
  return j;
}

}  // namespace foresight::sim
