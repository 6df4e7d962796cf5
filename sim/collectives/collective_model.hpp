#pragma once
// The tuner: chooses how a collective runs (NCCL-tuner style: the algorithm/protocol with the lowest
// modelled time, unless the request forces one) and times it analytically on the cluster.
#include <string>

#include <memory>

#include "hwmodels/cost/calibrated_collectives.hpp"
#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/collective.hpp"
#include "sim/collectives/decompose.hpp"
#include "sim/collectives/nccl_params.hpp"
#include "sim/network/analytical.hpp"

namespace foresight::sim {

class CollectiveModel {
 public:
  CollectiveModel(const hw::Cluster& cluster, NcclParams params);

  struct Choice {
    CollectivePlan plan;
    double analytical_time_s = 0;
  };
  // Throws InputError when a forced algorithm or protocol cannot run this request.
  Choice choose(const CollectiveRequest& req);
  // Contention-free time: the profile's measured time when one is in use and covers the request
  // (see use_measured), else the tuner's choice timed on the analytical network.
  CollectiveResult estimate(const CollectiveRequest& req);
  // From now on, collectives of the default algorithm and protocol inside one node whose op, rank
  // count and size the profile measured are timed from the measurement (algorithm "measured").
  // The flow engine still simulates plans on links: measurements say nothing about contention.
  void use_measured(std::shared_ptr<const hw::CalibratedCollectives> measured);
  // Contention-free time of a plan, and the plan and time of a one-way point-to-point transfer.
  double plan_time(const CollectivePlan& plan) { return network_.plan_time(plan); }
  // Bytes per link of the plan the tuner chooses for `req` (what the analytical engine shares).
  std::vector<std::pair<int, double>> link_bytes(const CollectiveRequest& req) { return network_.link_bytes(choose(req).plan); }
  std::vector<std::pair<int, double>> link_bytes(const CollectivePlan& plan) { return network_.link_bytes(plan); }
  CollectivePlan transfer_plan(int src, int dst, double bytes) const;

  const hw::Cluster& cluster() const { return cluster_; }
  const NcclParams& params() const { return params_; }

 private:
  const hw::Cluster& cluster_;
  NcclParams params_;
  AnalyticalNetwork network_;
  std::shared_ptr<const hw::CalibratedCollectives> measured_;
};

}  // namespace foresight::sim
