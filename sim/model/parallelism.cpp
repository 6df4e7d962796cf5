#include "sim/model/parallelism.hpp"

namespace foresight::sim {

int& ParallelismSpec::size(ParallelDim d) {
  switch (d) {
    case ParallelDim::tp: return tp;
    case ParallelDim::cp: return cp;
    case ParallelDim::pp: return pp;
    case ParallelDim::dp: return dp;
    case ParallelDim::ep: return ep;
    case ParallelDim::etp: return etp;
  }
  return tp;
}

long long ParallelismSpec::gpus() const {
  long long n = 1;
  for (const auto& info : kParallelDimTable)
    if (info.placed) n *= size(info.dim);
  return n;
}

}  // namespace foresight::sim
