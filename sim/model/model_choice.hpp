#pragma once
// The scenario's `model:`: a catalog id, or an inline mapping of the same fields.
#include "core/yaml_reader.hpp"
#include "hwmodels/catalog/catalog.hpp"

namespace foresight::sim {

// Unknown ids list the catalog's models; inline models are checked like catalog entries. A workload
// that does not simulate mixture-of-experts or latent-attention models yet (serving) refuses them
// with a located error.
hw::ModelSpec resolve_model(const YamlNode& model, const hw::Catalog& catalog, bool moe_supported);
hw::ModelSpec parse_inline_model(const YamlNode& model);

}  // namespace foresight::sim
