#include "sim/model/parallel_dims.hpp"

namespace foresight::sim {

std::optional<ParallelDim> parse_dim(std::string_view name) {
  for (const auto& info : kParallelDimTable)
    if (name == info.name) return info.dim;
  return std::nullopt;
}

std::string dim_names(bool placed_only) {
  std::string s;
  for (const auto& info : kParallelDimTable)
    if (info.placed || !placed_only) s += (s.empty() ? "" : ", ") + std::string(info.name);
  return s;
}

}  // namespace foresight::sim
