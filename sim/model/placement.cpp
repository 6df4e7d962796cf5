#include "sim/model/placement.hpp"

namespace foresight::sim {

Placement::Placement(const ParallelismSpec& par) {
  for (const auto& info : kParallelDimTable) size_[index(info.dim)] = par.size(info.dim);
  int stride = 1;
  for (ParallelDim d : par.order) {
    if (!dim_info(d).placed) continue;
    stride_[index(d)] = stride;
    stride *= size_[index(d)];
  }
}

int Placement::global(const Coord& c) const {
  int g = 0;
  for (size_t i = 0; i < c.size(); ++i) g += c[i] * stride_[i];
  return g;
}

int Placement::stage_local(const Coord& c) const {
  return c[index(ParallelDim::tp)] +
         size(ParallelDim::tp) * (c[index(ParallelDim::cp)] + size(ParallelDim::cp) * c[index(ParallelDim::dp)]);
}

int Placement::from_stage_local(int local, const Coord& c) const {
  Coord x = c;
  x[index(ParallelDim::tp)] = local % size(ParallelDim::tp);
  local /= size(ParallelDim::tp);
  x[index(ParallelDim::cp)] = local % size(ParallelDim::cp);
  x[index(ParallelDim::dp)] = local / size(ParallelDim::cp);
  x[index(ParallelDim::ep)] = 0;
  return global(x);
}

std::vector<int> Placement::expert_dp_group(const Coord& c) const {
  const int replica = size(ParallelDim::ep) * size(ParallelDim::etp);
  const int per_stage = size(ParallelDim::tp) * size(ParallelDim::cp) * size(ParallelDim::dp);
  std::vector<int> ranks;
  for (int local = stage_local(c) % replica; local < per_stage; local += replica) ranks.push_back(from_stage_local(local, c));
  return ranks;
}

std::vector<int> Placement::group(ParallelDim dim, const Coord& c) const {
  const size_t d = index(dim);
  if (!dim_info(dim).placed) {  // ep / etp: stage-local indices etp apart / consecutive
    const int etp = size(ParallelDim::etp), ep = size(ParallelDim::ep), local = stage_local(c);
    std::vector<int> ranks;
    if (dim == ParallelDim::etp) {
      for (int i = 0; i < etp; ++i) ranks.push_back(from_stage_local(local / etp * etp + i, c));
    } else {
      const int base = local / (etp * ep) * (etp * ep) + local % etp;
      for (int i = 0; i < ep; ++i) ranks.push_back(from_stage_local(base + i * etp, c));
    }
    return ranks;
  }
  const int base = global(c) - c[d] * stride_[d];
  std::vector<int> ranks;
  ranks.reserve(static_cast<size_t>(size_[d]));
  for (int i = 0; i < size_[d]; ++i) ranks.push_back(base + i * stride_[d]);
  return ranks;
}

}  // namespace foresight::sim
