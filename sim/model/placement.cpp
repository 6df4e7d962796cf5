#include "sim/model/placement.hpp"

namespace foresight::sim {

Placement::Placement(const ParallelismSpec& par) {
  for (const auto& info : kParallelDimTable) size_[index(info.dim)] = par.size(info.dim);
  int stride = 1;
  for (ParallelDim d : par.order) {
    stride_[index(d)] = stride;
    stride *= size_[index(d)];
  }
}

int Placement::global(const Coord& c) const {
  int g = 0;
  for (size_t i = 0; i < c.size(); ++i) g += c[i] * stride_[i];
  return g;
}

std::vector<int> Placement::group(ParallelDim dim, const Coord& c) const {
  const size_t d = index(dim);
  const int base = global(c) - c[d] * stride_[d];
  std::vector<int> ranks;
  ranks.reserve(static_cast<size_t>(size_[d]));
  for (int i = 0; i < size_[d]; ++i) ranks.push_back(base + i * stride_[d]);
  return ranks;
}

}  // namespace foresight::sim
