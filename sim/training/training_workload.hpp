#pragma once
// The `training` workload: one iteration of a dense or mixture-of-experts transformer under a
// parallelism plan.
#include <memory>

#include "sim/engine/task_graph.hpp"
#include "sim/scenario/workload.hpp"

namespace foresight::sim {

std::unique_ptr<Workload> make_training_workload();

class Session;
struct TrainingSpec;
struct TrainingResult;
// One iteration of `spec` on the session's cluster, cost model and engine (what the training
// workload runs; the goodput workload reuses its iteration time).
TrainingResult simulate_iteration(Session& session, const TrainingSpec& spec, TaskGraph* graph = nullptr,
                                  std::vector<TaskTiming>* timings = nullptr);

}  // namespace foresight::sim
