#pragma once
// Runs a task graph on SimGrid: compute tasks sleep for their duration, collective tasks become
// their plan's flows on the cluster's links, so concurrent collectives share bandwidth by max-min.
// SimGrid allows one engine per process, so every run happens in a forked child process; the
// caller's process stays reusable (tests, the Python module).
#include <vector>

#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/collective_model.hpp"
#include "sim/engine/executor.hpp"

namespace foresight::sim {

std::vector<TaskTiming> run_flow(const TaskGraph& graph, CollectiveModel& model);

// The same run without the fork, for code already inside a child process.
std::vector<TaskTiming> run_flow_in_process(const TaskGraph& graph, CollectiveModel& model);

}  // namespace foresight::sim
