#pragma once
// Times the routed part of a mixture-of-experts layer for one microbatch: draws the per-expert
// token counts of the EP group (seeded by layer and microbatch, so forward, recomputation and
// backward see the same routing and runs repeat exactly), finds the busiest EP rank, and prices
// its grouped GEMMs expert by expert and its per-token ops by its token count. The gap to a
// perfectly balanced router (every expert at the mean) is kept as the imbalance cost.
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "hwmodels/cost/cost_model.hpp"
#include "sim/moe/routing.hpp"
#include "sim/training/layer_ops.hpp"
#include "sim/training/training_spec.hpp"

namespace foresight::sim {

struct RoutedInstance {
  std::vector<double> seconds;   // per template item; routed compute items only
  // Busiest rank's received tokens / the mean, rounded up to 1/64 so that the all-to-alls of
  // thousands of draws intern into a few distinct collective requests (each is planned once).
  double dispatch_scale = 1;
  double busiest_s = 0, balanced_s = 0;   // routed compute of the instance, busiest rank vs balanced
  double dropped = 0, assignments = 0;
};

class RoutedTimer {
 public:
  // node_of_ep_rank: the NVLink domain of each rank of an EP group, in EP order.
  RoutedTimer(const TrainingSpec& spec, const hw::ComputeCostModel& cost, std::vector<int> node_of_ep_rank);
  RoutedInstance time(const WorkTemplate& items, int layer, int microbatch);
  // Expected fan-out of one token in `layer` (DeepEP's hierarchical dispatch).
  FanOut fan_out(int layer);
  double tokens_per_rank() const { return tokens_per_rank_; }
  // Over every (layer, microbatch) drawn so far: assignments, those dropped, and the summed
  // dispatch scale (for the report's means).
  struct Totals {
    int draws = 0;
    double assignments = 0, dropped = 0, dispatch_scale = 0;
  };
  const Totals& totals() const { return totals_; }

 private:
  const std::vector<double>& shares(int layer);
  // The draw of (layer, microbatch), made once: forward, recomputation and backward share it.
  struct Draw {
    RankLoad busy;
    double dropped = 0, dispatch_scale = 1;
  };
  const Draw& draw(int layer, int microbatch, double assignments);
  std::map<std::pair<int, int>, Draw> draws_;
  double gemm_seconds(const WorkItem& w, double tokens);
  const TrainingSpec& s_;
  const hw::ComputeCostModel& cost_;
  std::vector<int> node_of_;
  double tokens_per_rank_ = 0;
  std::unordered_map<int, std::vector<double>> shares_;
  std::map<std::vector<double>, FanOut> fan_out_;
  std::unordered_map<const WorkItem*, std::unordered_map<int64_t, double>> gemm_cache_;
  Totals totals_;
};

}  // namespace foresight::sim
