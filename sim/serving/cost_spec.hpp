#pragma once
#include <map>
#include <string>

#include "core/yaml_reader.hpp"
#include "hwmodels/catalog/catalog.hpp"
#include "hwmodels/topology/cluster.hpp"

namespace foresight::sim {

struct ServingSpec;

// What the GPUs cost (`serving.cost`): a price per GPU-hour for each GPU type the run uses, with
// where the prices come from (they are the user's: rental, amortised purchase, internal rates).
struct CostSpec {
  std::map<std::string, double> usd_per_gpu_hour;   // by catalog GPU id
  std::string source;
  bool enabled() const { return !usd_per_gpu_hour.empty(); }
};

// `serving.cost`, once the replicas (or pools) are placed: every GPU type they use needs a price.
void parse_cost(const YamlNode& c, ServingSpec& s, const hw::Catalog& catalog, const hw::ClusterSpec& cluster);

}  // namespace foresight::sim
