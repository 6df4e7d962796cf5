// Renders the catalog for `foresight catalog` and the Python module: every number with its source.
#pragma once
#include <string>

#include "hwmodels/catalog/catalog.hpp"

namespace foresight::hw {

std::string catalog_table(const Catalog& catalog);      // human-readable, with sources
std::string catalog_json_text(const Catalog& catalog);  // machine-readable

}  // namespace foresight::hw
