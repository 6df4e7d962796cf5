#include "sim/training/placement.hpp"

#include <stdexcept>

namespace foresight::sim {

int Placement::index(const std::string& dim) {
  if (dim == "tp") return 0;
  if (dim == "cp") return 1;
  if (dim == "pp") return 2;
  if (dim == "dp") return 3;
  throw std::invalid_argument("unknown parallel dimension '" + dim + "'");
}

Placement::Placement(const ParallelismSpec& par) {
  size_ = {par.tp, par.cp, par.pp, par.dp};
  int stride = 1;
  for (const auto& dim : par.order) {
    stride_[index(dim)] = stride;
    stride *= size_[index(dim)];
  }
}

int Placement::size(const std::string& dim) const { return size_[index(dim)]; }

int Placement::global(const Coord& c) const {
  return c.tp * stride_[0] + c.cp * stride_[1] + c.pp * stride_[2] + c.dp * stride_[3];
}

std::vector<int> Placement::group(const std::string& dim, const Coord& c) const {
  const int d = index(dim);
  const int base = global(c) - std::array<int, 4>{c.tp, c.cp, c.pp, c.dp}[d] * stride_[d];
  std::vector<int> ranks;
  ranks.reserve(size_[d]);
  for (int i = 0; i < size_[d]; ++i) ranks.push_back(base + i * stride_[d]);
  return ranks;
}

}  // namespace foresight::sim
