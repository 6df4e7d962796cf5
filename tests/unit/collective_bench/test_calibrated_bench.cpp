#include <catch2/catch.hpp>

#include <algorithm>

#include "calibrate/import/nccl_tests.hpp"
#include "sim/collective_bench/collective_bench.hpp"
#include "sim/run/session.hpp"

using namespace foresight;

TEST_CASE("a profile imported from nccl-tests times the bench with the measured collectives") {
  const std::string root = FORESIGHT_SOURCE_DIR;
  const auto log = calibrate::load_nccl_tests(root + "/tests/data/nccl-tests/all_reduce_perf_h100_8gpu.log");
  calibrate::ImportOptions opt;
  opt.system = "dgx-h100";
  const auto profile = calibrate::import_nccl_tests({log}, opt);

  auto scenario = sim::load_scenario_text(sim::default_scenario_text(), "default",
                                          {"fidelity=analytical", "workload.sizes.min=1MiB"});
  const auto& bench = scenario.workload_as<sim::CollectiveBenchSpec>();
  sim::Session session(scenario);
  auto engine = session.engine();
  auto rows = sim::run_collective_bench(bench, session.collectives(), *engine);
  const hw::CalibratedCollectives measured(profile);
  CHECK(sim::apply_calibrated_collectives(measured, bench, "dgx-h100", rows) == static_cast<int>(rows.size()));
  CHECK(sim::apply_calibrated_collectives(measured, bench, "dgx-a100", rows) == 0);  // other system

  // At the log's own sizes the profile's table gives back a measured time: the profile pools the
  // out-of-place and in-place timings, so it lies between them (0.1 %: printed precision).
  int compared = 0;
  for (const auto& r : rows)
    for (const auto& m : log.rows)
      if (m.bytes == r.bytes) {
        INFO(r.bytes);
        CHECK(r.algorithm == "calibrated");
        const double lo = std::min(m.out_of_place.time_s, m.in_place.time_s);
        const double hi = std::max(m.out_of_place.time_s, m.in_place.time_s);
        CHECK(r.time_s >= lo * 0.999);
        CHECK(r.time_s <= hi * 1.001);
        ++compared;
      }
  CHECK(compared == 14);
}
