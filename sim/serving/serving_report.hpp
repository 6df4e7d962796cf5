#pragma once
// The text report of a serving run, read off its JSON section.
#include <string>

#include <nlohmann/json.hpp>

#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

std::string serving_report(const nlohmann::json& serving, const ServingSpec& spec);

}  // namespace foresight::sim
