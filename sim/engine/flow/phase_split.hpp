#pragma once
// Splitting one phase of transfers into parts that can be simulated separately with the same
// result. Transfers that share no link (directly or through other transfers) form independent
// components of the max-min problem; components that are identical up to renaming their links
// (same flow sizes on the same link structure and bandwidths: every NVLink domain of a
// hierarchical collective, say) finish at the same time, so one of them stands for all. What is
// left is packed into groups of roughly equal flow counts for separate simulations.
//
// Why bother: SimGrid's max-min solver saturates one bandwidth level per round over every
// constraint it re-solves, so components that change at the same instant cost rounds x
// constraints of all of them together; simulated apart, each costs only its own. Only valid for
// a phase that runs alone on the platform (nothing else could share its links meanwhile).
#include <vector>

#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/plan.hpp"

namespace foresight::sim::flow {

struct PhaseSplit {
  std::vector<std::vector<Transfer>> groups;  // simulate each group on its own; the phase takes the longest
  int components = 0;                         // independent components in the phase
  int distinct = 0;                           // of which not identical to an earlier one
};

// `groups` at most: components are never split across groups.
PhaseSplit split_phase(const std::vector<Transfer>& transfers, const hw::Cluster& cluster, int groups);

}  // namespace foresight::sim::flow
