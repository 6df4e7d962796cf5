// libFuzzer target for the whole scenario path at tiny sizes: any input must either run or raise
// InputError; a crash, an abort, a sanitizer report, a hang or any other exception is a bug. It loads
// and validates the scenario, then for small clusters builds the topology, and for small training
// plans the task graph and the memory estimate; collective benches decompose their first size.
//   CXX=clang++ cmake -S . -B build-fuzz -DFORESIGHT_BUILD_FUZZ=ON -DFORESIGHT_BUILD_PYTHON=OFF \
//       -DFORESIGHT_ENABLE_CUDA=OFF && cmake --build build-fuzz --target scenario_fuzz profile_fuzz
//   ./build-fuzz/tests/fuzz/scenario_fuzz tests/fuzz/corpus -dict=tests/fuzz/scenario.dict -max_total_time=600
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "hwmodels/cost/roofline_cost_model.hpp"
#include "hwmodels/topology/cluster.hpp"
#include "sim/collective_bench/bench_spec.hpp"
#include "sim/collectives/collective_model.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/training/memory_model.hpp"
#include "sim/training/pipeline_schedule.hpp"
#include "sim/training/training_graph.hpp"
#include "sim/training/training_spec.hpp"

using namespace foresight;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const sim::Scenario s = sim::load_scenario_text(text, "fuzz.yaml");
    const long long gpus = static_cast<long long>(s.cluster.total_nodes()) * s.cluster.system_spec.gpus_per_node;
    if (gpus > 256) return 0;  // tiny sizes only: the fuzzer looks for crashes, not slow cases
    const hw::Cluster cluster = hw::Cluster::build(s.cluster);
    if (s.workload_kind == "training") {
      const auto& t = s.workload_as<sim::TrainingSpec>();
      if (double(t.microbatches()) * t.model.layers > 4096) return 0;
      hw::RooflineCostModel cost(cluster.gpu());
      sim::TaskGraph graph;
      sim::build_training_graph(t, cost, graph, false, cluster.nvlink_domain_size());
      const auto schedule = sim::pipeline_schedule(t.schedule, t.par.pp, t.par.vpp, static_cast<int>(t.microbatches()),
                                                   t.overlap_ep_comm);
      sim::estimate_memory(t, schedule, cluster.gpu().memory_capacity);
    } else if (s.workload_kind == "collective-bench") {
      const auto& b = s.workload_as<sim::CollectiveBenchSpec>();
      sim::CollectiveModel model(cluster, sim::NcclParams::defaults());
      sim::CollectiveRequest req;
      req.op = b.ops.front();
      req.bytes = b.min_bytes;
      for (int r = 0; r < b.ranks; ++r) req.ranks.push_back(r);
      req.algorithm = b.algorithm, req.protocol = b.protocol;
      model.estimate(req);
    }
  } catch (const InputError&) {
  }
  return 0;
}
