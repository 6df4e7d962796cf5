#pragma once
// The child side of the flow engine: runs the activity graph on SimGrid, one actor per activity,
// and stops at every watched completion to tell the parent and apply the batch it answers with.
#include <unordered_set>

#include "sim/collectives/collective_model.hpp"
#include "sim/engine/activity_graph.hpp"
#include "sim/engine/flow/flow_channel.hpp"

namespace foresight::sim::flow {

// Runs to the end and sends `done` with every activity's times (or `error`). `graph` and
// `watched` are the parent's state at the fork.
void simulate(ActivityGraph& graph, std::unordered_set<ActivityId>& watched, CollectiveModel& model,
              const Channel& channel);

// Applies one record of a parent batch (request, plan, add, watch) to `graph`; returns the new
// activity for `add`, the watched activity for `watch`, -1 otherwise.
ActivityId apply_command(Msg kind, Reader& in, ActivityGraph& graph, std::unordered_set<ActivityId>& watched);

}  // namespace foresight::sim::flow
