#pragma once
// Where one rank's time goes: its compute stream's busy time, and its idle time charged along the
// chain of whatever each next task waited for (a collective of some parallel dimension, another
// rank's compute, i.e. pipeline bubble). The parts add up to the run's end time.
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/engine/task_graph.hpp"
#include "sim/model/parallel_dims.hpp"

namespace foresight::sim {

struct TimeBreakdown {
  // Seconds on the reported rank's compute stream; they add up to the iteration time.
  double compute = 0, bubble = 0, optimizer = 0;
  PerDim<double> exposed{};   // exposed communication of each parallel dimension
  double recompute = 0;       // part of `compute` spent recomputing activations
  double exposed_in(ParallelDim d) const { return exposed[index(d)]; }
  double total() const;
};

// Task categories: a parallel dimension's name for its collectives, "optimizer", "recompute", and
// anything else for compute.
TimeBreakdown attribute_time(const TaskGraph& graph, const std::vector<TaskTiming>& timings, int rank,
                             int compute_stream = 0);

// {"compute", "recompute", "bubble", "optimizer", "exposed_tp", ...}
nlohmann::json to_json(const TimeBreakdown& b);

}  // namespace foresight::sim
