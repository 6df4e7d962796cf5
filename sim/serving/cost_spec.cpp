#include "sim/serving/cost_spec.hpp"

#include <vector>

#include <fmt/format.h>

#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

// `cost`: a positive price for every GPU type the replicas use, and the prices' source.
void parse_cost(const YamlNode& c, ServingSpec& s, const hw::Catalog& catalog, const hw::ClusterSpec& cluster) {
  c.expect_only({"usd_per_gpu_hour", "source"});
  const YamlNode prices = c.at("usd_per_gpu_hour");
  for (const auto& [gpu, v] : prices.entries()) {
    if (!catalog.gpus().count(gpu)) v.fail(fmt::format("{} is not a GPU in the catalog", gpu));
    const double usd = v.as_double();
    if (!(usd > 0) || usd > 1e6) v.fail(fmt::format("a price per GPU-hour must be positive (and below $1M), got {}", usd));
    s.cost.usd_per_gpu_hour[gpu] = usd;
  }
  s.cost.source = c.at("source").as_string();
  std::vector<ServingSpec*> pools{&s};
  if (s.disaggregation.enabled()) pools = {s.disaggregation.prefill.get(), s.disaggregation.decode.get()};
  for (ServingSpec* p : pools) {
    const std::string gpu = system_gpus(cluster, p->system).gpu->id;
    if (!s.cost.usd_per_gpu_hour.count(gpu)) prices.fail(fmt::format("no price for {}, which the run's replicas use", gpu));
    p->cost = s.cost;
  }
}

}  // namespace foresight::sim
