#include "sim/training/routed_timing.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace foresight::sim {

RoutedTimer::RoutedTimer(const TrainingSpec& s, const hw::ComputeCostModel& cost, std::vector<int> node_of_ep_rank)
    : s_(s), cost_(cost), node_of_(std::move(node_of_ep_rank)) {
  const bool sp = s.par.sequence_parallel && s.par.tp > 1;
  tokens_per_rank_ = double(s.micro_batch) * s.sequence_length / s.par.cp / (sp ? s.par.tp : 1);
}

const std::vector<double>& RoutedTimer::shares(int layer) {
  auto it = shares_.find(layer);
  if (it == shares_.end()) it = shares_.emplace(layer, expert_shares(s_.routing, s_.model.moe.experts, layer)).first;
  return it->second;
}

FanOut RoutedTimer::fan_out(int layer) {
  // Layers with the same shares (every layer under uniform routing) share one estimate.
  const auto& sh = shares(layer);
  auto it = fan_out_.find(sh);
  if (it == fan_out_.end()) it = fan_out_.emplace(sh, expected_fan_out(sh, s_.model.moe, node_of_, s_.routing.seed)).first;
  return it->second;
}

double RoutedTimer::gemm_seconds(const WorkItem& w, double tokens) {
  const auto t = int64_t(std::llround(tokens));
  if (t <= 0) return 0.0;
  auto& cache = gemm_cache_[&w];
  auto it = cache.find(t);
  if (it != cache.end()) return it->second;
  hw::GemmQuery q = w.gemm;
  if (w.routed == WorkItem::Routed::expert_m) q.m = t;
  else q.k = t;
  const double sec = cost_.gemm(q).seconds;
  cache.emplace(t, sec);
  return sec;
}

const RoutedTimer::Draw& RoutedTimer::draw(int layer, int microbatch, double assignments) {
  const auto key = std::make_pair(layer, microbatch);
  auto it = draws_.find(key);
  if (it != draws_.end()) return it->second;
  // One stream per (layer, microbatch): independent of the order the graph builder asks in.
  std::mt19937_64 rng(s_.routing.seed * 0x9E3779B97F4A7C15ULL ^ (uint64_t(layer) << 32 | uint64_t(microbatch)));
  const ExpertLoad load =
      draw_expert_load(shares(layer), assignments, s_.model.moe.router, s_.routing.fluctuation == "expected" ? nullptr : &rng);
  Draw d{busiest_rank(load, s_.par.ep), load.dropped, 1.0};
  if (d.busy.mean_total > 0)
    d.dispatch_scale = std::max(1.0, std::ceil(d.busy.total / d.busy.mean_total * 64.0 - 1e-9) / 64.0);
  ++totals_.draws;
  totals_.assignments += assignments, totals_.dropped += d.dropped, totals_.dispatch_scale += d.dispatch_scale;
  return draws_.emplace(key, std::move(d)).first->second;
}

RoutedInstance RoutedTimer::time(const WorkTemplate& items, int layer, int microbatch) {
  const int ep = s_.par.ep, E = s_.model.moe.experts;
  RoutedInstance r;
  // With expert TP, each expert serves the tokens of etp EP groups (gathered over its ETP group).
  r.assignments = tokens_per_rank_ * ep * s_.par.etp * s_.model.moe.top_k;
  const Draw& d = draw(layer, microbatch, r.assignments);
  r.dropped = d.dropped;
  r.dispatch_scale = d.dispatch_scale;
  const RankLoad& busy = d.busy;
  // The balanced reference spreads the tokens that were kept (dropping removes work from both).
  const double mean_expert = (r.assignments - d.dropped) / E;
  r.seconds.assign(items.size(), 0.0);
  const double per_rank_balanced = mean_expert * double(E / ep);
  for (size_t i = 0; i < items.size(); ++i) {
    const WorkItem& w = items[i];
    double busiest = 0, balanced = 0;
    if (w.routed == WorkItem::Routed::expert_m || w.routed == WorkItem::Routed::expert_k) {
      for (double t : busy.expert_tokens) busiest += gemm_seconds(w, t);
      balanced = double(E / ep) * gemm_seconds(w, mean_expert);
    } else if (w.routed == WorkItem::Routed::per_token) {
      auto op = [&](double tokens) {
        hw::MemoryOpQuery q = w.mem;
        q.bytes *= tokens, q.flops *= tokens;
        return tokens > 0 ? cost_.memory_op(q).seconds : 0.0;
      };
      busiest = op(busy.total);
      balanced = op(per_rank_balanced);
    } else {
      continue;
    }
    r.seconds[i] = busiest;
    r.busiest_s += busiest;
    r.balanced_s += balanced;
  }
  return r;
}

}  // namespace foresight::sim
