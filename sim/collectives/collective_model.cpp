#include "sim/collectives/collective_model.hpp"

#include <limits>

#include <fmt/format.h>

#include "core/error.hpp"

namespace foresight::sim {

CollectiveModel::CollectiveModel(const hw::Cluster& cluster, NcclParams params)
    : cluster_(cluster), params_(params), network_(cluster) {}

CollectiveModel::Choice CollectiveModel::choose(const CollectiveRequest& req) {
  for (int g : req.ranks)
    if (g < 0 || g >= cluster_.gpus())
      throw InputError(fmt::format("collective rank {} is outside the cluster's {} GPUs", g, cluster_.gpus()));
  const auto algorithms = applicable_algorithms(req, cluster_);
  std::vector<Algorithm> candidates;
  if (req.algorithm == "auto") {
    for (auto a : algorithms)
      if (a != Algorithm::hierarchical) candidates.push_back(a);  // NCCL's tuner never picks it
  } else {
    for (auto a : algorithms)
      if (req.algorithm == algorithm_name(a)) candidates.push_back(a);
    if (candidates.empty()) {
      std::vector<std::string> names;
      for (auto a : algorithms) names.push_back(algorithm_name(a));
      throw InputError(fmt::format("workload.algorithm: '{}' cannot run {} on these {} ranks; possible: {}",
                                   req.algorithm, op_name(req.op), req.ranks.size(), fmt::join(names, ", ")));
    }
  }
  Choice best;
  best.analytical_time_s = std::numeric_limits<double>::infinity();
  for (auto a : candidates) {
    for (auto p : applicable_protocols(a)) {
      if (req.protocol != "auto" && req.protocol != protocol_name(p)) continue;
      CollectivePlan plan = decompose(req, a, p, cluster_, params_);
      const double t = network_.plan_time(plan);
      if (t < best.analytical_time_s) best = Choice{std::move(plan), t};
    }
  }
  if (best.analytical_time_s == std::numeric_limits<double>::infinity())
    throw InputError(fmt::format("workload.protocol: '{}' is not available for algorithm {}", req.protocol, req.algorithm));
  return best;
}

void CollectiveModel::use_measured(std::shared_ptr<const hw::CalibratedCollectives> measured) {
  measured_ = std::move(measured);
}

CollectiveResult CollectiveModel::estimate(const CollectiveRequest& req) {
  if (req.ranks.size() < 2) return CollectiveResult{0.0, "none", "none"};
  if (measured_ && req.algorithm == "auto" && req.protocol == "auto" && req.op != CollectiveOp::send_recv) {
    bool one_node = true;
    for (int g : req.ranks) one_node = one_node && g >= 0 && g < cluster_.gpus() && cluster_.node_of(g) == cluster_.node_of(req.ranks[0]);
    if (one_node)
      if (auto m = measured_->time(op_name(req.op), static_cast<int>(req.ranks.size()), req.bytes); m && !m->extrapolated)
        return CollectiveResult{m->seconds, "measured", "auto"};
  }
  auto c = choose(req);
  return CollectiveResult{c.analytical_time_s, algorithm_name(c.plan.algorithm), protocol_name(c.plan.protocol)};
}

CollectivePlan CollectiveModel::transfer_plan(int src, int dst, double bytes) const {
  // A copy between a GPU and its node's host memory or NVMe: one phase at the links' rate.
  auto off_gpu = [](int e) { return hw::is_host(e) || hw::is_nvme(e); };
  if (off_gpu(src) || off_gpu(dst)) {
    for (int e : {src, dst})
      if (off_gpu(e) ? hw::endpoint_node(e) >= cluster_.nodes() : (e < 0 || e >= cluster_.gpus()))
        throw InputError(fmt::format("transfer endpoint {} is outside the cluster", e));
    return decompose_host_copy(src, dst, bytes);
  }
  for (int g : {src, dst})
    if (g < 0 || g >= cluster_.gpus())
      throw InputError(fmt::format("transfer endpoint {} is outside the cluster's {} GPUs", g, cluster_.gpus()));
  return decompose_transfer(src, dst, bytes, cluster_, params_);
}

}  // namespace foresight::sim
