#pragma once
// A training job over weeks of simulated time, as a scenario asks for it: the training plan (whose
// iteration time Foresight predicts) plus the `failures:` section: which causes interrupt the job and
// how often, how a failure is detected and recovered, spares and repairs, stragglers, and the
// checkpoint policy and storage tier.
#include <string>
#include <vector>

#include "sim/training/training_spec.hpp"

namespace foresight::sim {

struct FailureCause {
  std::string id, name, category;
  std::string unit;              // gpu | host | nic | switch
  double rate = 0;               // per unit per second
  bool needs_spare = true;
  std::string distribution = "exponential";   // exponential | weibull (per unit, renewed on replacement)
  double weibull_shape = 1;      // k: < 1 infant mortality, > 1 wear-out
  std::string source;
};

struct GoodputSpec : WorkloadSpec {
  TrainingSpec training;
  double horizon_s = 0;
  int runs = 1;                               // Monte Carlo seeds
  std::vector<FailureCause> causes;
  std::vector<double> injected_s;             // failures at given times (what-ifs, closed-form checks)
  double detection_s = 0, restart_s = 0, repair_s = 0;
  int hot_spares = 0;                         // spare nodes ready to replace failed ones
  // Checkpoints.
  bool checkpoint_auto = false;               // interval = Young's sqrt(2 delta MTBF), plus the simulated optimum
  double checkpoint_interval_s = 0;           // of productive time between checkpoints
  std::string tier;                           // catalog storage tier
  double tier_write_Bps = 0, tier_read_Bps = 0;
  bool tier_per_node = false;                 // tier figures are per node: the job's scale with its nodes
  bool async_checkpoint = false;
  double checkpoint_bytes = 0;                // 0: from the model (weights, fp32 master, Adam moments)
  // Stragglers: a slow GPU slows every synchronous step until it is detected and evicted.
  double straggler_rate = 0;                  // per GPU per second
  double straggler_slowdown = 1;              // step time factor while one straggles
  double straggler_detect_s = 0;
  // Diurnal/thermal throughput swing, peak to trough (Llama 3 saw 1-2 %): training runs at 1 - A/2
  // on average, the rest is reported as lost to it.
  double diurnal_swing = 0;

  std::string kernel_family() const override { return training.kernel_family(); }
  nlohmann::json describe() const override;
};

GoodputSpec parse_goodput(const YamlNode& model, const YamlNode& training, const YamlNode& failures,
                          const hw::Catalog& catalog, int total_gpus, int nvlink_domain);

}  // namespace foresight::sim
