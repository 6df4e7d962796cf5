#pragma once
// The scenario's `model:`: a catalog id, or an inline mapping of the same fields.
#include "core/yaml_reader.hpp"
#include "hwmodels/catalog/catalog.hpp"

namespace foresight::sim {

// Unknown ids list the catalog's models; inline models are checked like catalog entries.
hw::ModelSpec resolve_model(const YamlNode& model, const hw::Catalog& catalog);
hw::ModelSpec parse_inline_model(const YamlNode& model);

}  // namespace foresight::sim
