#pragma once
// The `serving` workload: replicas of an inference engine under a request stream.
#include <memory>

#include "sim/scenario/workload.hpp"

namespace foresight::sim {

std::unique_ptr<Workload> make_serving_workload();

}  // namespace foresight::sim
