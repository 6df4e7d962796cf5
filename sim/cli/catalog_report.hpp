#pragma once
#include <string>

#include "hwmodels/catalog.hpp"

namespace foresight {

std::string catalog_table(const hw::Catalog& catalog);      // human-readable, with sources
std::string catalog_json_text(const hw::Catalog& catalog);  // machine-readable

}  // namespace foresight
