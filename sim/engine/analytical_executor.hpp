#pragma once
// Contention-free execution of a TaskGraph: each task starts when its dependencies have finished
// and its (rank, stream) is free, in submission order per stream; collectives take the time the
// analytical collective model gives for their real GPU group.
#include <functional>
#include <vector>

#include "sim/engine/executor.hpp"

namespace foresight::sim {

using CollectiveTimer = std::function<CollectiveResult(const CollectiveRequest&)>;

// Throws std::logic_error if the dependencies and stream orders form a cycle (a deadlock).
std::vector<TaskTiming> run_analytical(const TaskGraph& graph, const CollectiveTimer& timer);

}  // namespace foresight::sim
