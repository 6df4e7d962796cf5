#pragma once
// The `training` workload: one iteration of a dense transformer under a parallelism plan.
#include <memory>

#include "sim/scenario/workload.hpp"

namespace foresight::sim {

std::unique_ptr<Workload> make_training_workload();

}  // namespace foresight::sim
