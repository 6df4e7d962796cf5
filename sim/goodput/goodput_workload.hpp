#pragma once
// The `goodput` workload: a training job over weeks of simulated time with failures, checkpoints,
// restarts and stragglers, run as a Monte Carlo over seeds. Its iteration time is the training
// workload's prediction for the same plan, computed once.
#include <memory>

#include "sim/scenario/workload.hpp"

namespace foresight::sim {

std::unique_ptr<Workload> make_goodput_workload();

// Young (1974): the checkpoint interval that minimises lost time to first order, sqrt(2 delta M),
// for a checkpoint cost delta and a mean time between failures M. Daly (2006): the higher-order
// form sqrt(2 delta M) [1 + (delta/2M)^(1/2)/3 + (delta/2M)/9] - delta for delta < 2M, else M.
double young_interval(double delta, double mtbf);
double daly_interval(double delta, double mtbf);

}  // namespace foresight::sim
