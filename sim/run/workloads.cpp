// The workloads Foresight ships: one registration line per kind.
#include "sim/collective_bench/bench_workload.hpp"
#include "sim/goodput/goodput_workload.hpp"
#include "sim/scenario/workload.hpp"
#include "sim/serving/serving_workload.hpp"
#include "sim/training/training_workload.hpp"

namespace foresight::sim {

const WorkloadRegistry& WorkloadRegistry::builtin() {
  static const WorkloadRegistry registry = [] {
    WorkloadRegistry r;
    r.add(make_collective_bench_workload());
    r.add(make_training_workload());
    r.add(make_serving_workload());
    r.add(make_goodput_workload());
    return r;
  }();
  return registry;
}

}  // namespace foresight::sim
