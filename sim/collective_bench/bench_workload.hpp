#pragma once
// The `collective-bench` workload: nccl-tests on a simulated cluster.
#include <memory>

#include "sim/scenario/workload.hpp"

namespace foresight::sim {

std::unique_ptr<Workload> make_collective_bench_workload();

}  // namespace foresight::sim
