#include "sim/engine/analytical/analytical_engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace foresight::sim {

AnalyticalEngine::AnalyticalEngine(CollectiveModel& model)
    : model_(&model), timer_([&model](const CollectiveRequest& r) { return model.estimate(r); }) {
  link_rate_.assign(model.cluster().links().size(), 0.0);
  link_users_.assign(model.cluster().links().size(), 0);
  link_members_.resize(model.cluster().links().size());
}

AnalyticalEngine::AnalyticalEngine(CollectiveTimer timer) : timer_(std::move(timer)) {}

double AnalyticalEngine::time_of(const ActivityRecord& r) {
  switch (r.kind) {
    case ActivityKind::compute: return r.value;
    case ActivityKind::timer: return std::max(0.0, r.value - now_);
    case ActivityKind::transfer:
      if (!model_) throw std::logic_error("transfers need an engine built on a collective model");
      return model_->plan_time(model_->transfer_plan(r.a, r.b, r.value));
    case ActivityKind::collective: {
      if (r.b >= 0) {
        if (!model_) throw std::logic_error("pre-decomposed plans need an engine built on a collective model");
        return model_->plan_time(*graph_.plans[static_cast<size_t>(r.b)]);
      }
      // Planners issue the same collective thousands of times: time each distinct request once.
      const auto i = static_cast<size_t>(r.a);
      if (request_seconds_.size() <= i) request_seconds_.resize(i + 1, std::numeric_limits<double>::quiet_NaN());
      if (std::isnan(request_seconds_[i])) request_seconds_[i] = timer_(graph_.requests[r.a]).time_s;
      return request_seconds_[i];
    }
  }
  return 0;
}

std::shared_ptr<const AnalyticalEngine::LinkBytes> AnalyticalEngine::links_of(const ActivityRecord& r) {
  if (!model_) return nullptr;
  if (r.kind == ActivityKind::transfer)
    return std::make_shared<const LinkBytes>(model_->link_bytes(model_->transfer_plan(r.a, r.b, r.value)));
  if (r.kind != ActivityKind::collective) return nullptr;
  auto& cache = r.b >= 0 ? plan_links_ : request_links_;
  const auto i = static_cast<size_t>(r.b >= 0 ? r.b : r.a);
  if (cache.size() <= i) cache.resize(i + 1);
  if (!cache[i]) {
    cache[i] = std::make_shared<const LinkBytes>(r.b >= 0 ? model_->link_bytes(*graph_.plans[i])
                                                          : graph_.requests[r.a].ranks.size() < 2
                                                                ? LinkBytes{}
                                                                : model_->link_bytes(graph_.requests[r.a]));
  }
  return cache[i];
}

// The stretch of a communication: its links' summed demand over their bandwidth, at least 1.
void AnalyticalEngine::restretch(const LinkBytes& changed) {
  const auto& links = model_->cluster().links();
  // Only communications on a link whose demand changed can change speed.
  affected_.clear();
  for (const auto& [l, bytes] : changed) {
    (void)bytes;
    for (ActivityId id : link_members_[static_cast<size_t>(l)]) affected_.push_back(id);
  }
  std::sort(affected_.begin(), affected_.end());
  affected_.erase(std::unique(affected_.begin(), affected_.end()), affected_.end());
  for (ActivityId id : affected_) {
    Active& a = active_[active_slot_.at(id)];
    double s = 1.0;
    for (const auto& [l, bytes] : *a.links)
      s = std::max(s, link_rate_[static_cast<size_t>(l)] / links[static_cast<size_t>(l)].bandwidth);
    if (s == a.slowdown) continue;
    // Bring the work done up to now at the old stretch, then finish the rest at the new one.
    a.left = std::max(0.0, a.left - (now_ - a.since) / (a.alone * a.slowdown));
    a.since = now_;
    a.slowdown = s;
    ++a.version;
    heap_.push(Event{now_ + a.left * a.alone * a.slowdown, seq_++, a.id, false, a.version});
  }
}

void AnalyticalEngine::join(ActivityId id, double alone, std::shared_ptr<const LinkBytes> links) {
  for (const auto& [l, bytes] : *links) {
    link_rate_[static_cast<size_t>(l)] += bytes / alone;
    ++link_users_[static_cast<size_t>(l)];
    link_members_[static_cast<size_t>(l)].push_back(id);
  }
  Active a;
  a.id = id, a.alone = alone, a.since = now_, a.links = links;
  active_slot_[id] = active_.size();
  active_.push_back(a);
  heap_.push(Event{now_ + alone, seq_++, id, false, 0});
  restretch(*links);
}

void AnalyticalEngine::leave(ActivityId id) {
  const auto it = active_slot_.find(id);
  const size_t slot = it->second;
  active_slot_.erase(it);
  const Active gone = active_[slot];
  if (slot + 1 != active_.size()) {
    active_[slot] = active_.back();
    active_slot_[active_[slot].id] = slot;
  }
  active_.pop_back();
  for (const auto& [l, bytes] : *gone.links) {
    const auto i = static_cast<size_t>(l);
    auto& members = link_members_[i];
    members.erase(std::find(members.begin(), members.end(), id));
    if (--link_users_[i] == 0)
      link_rate_[i] = 0.0;  // no drift left behind by float sums
    else
      link_rate_[i] -= bytes / gone.alone;
  }
  restretch(*gone.links);
}

void AnalyticalEngine::start(ActivityId id) {
  ActivityRecord& r = graph_[id];
  r.started = true;
  r.start = now_;
  r.duration = time_of(r);
  if (r.duration > 0 && (r.kind == ActivityKind::collective || r.kind == ActivityKind::transfer)) {
    auto links = links_of(r);
    if (links && !links->empty()) {
      join(id, r.duration, std::move(links));
      return;
    }
  }
  heap_.push(Event{now_ + r.duration, seq_++, id, false, 0});
}

void AnalyticalEngine::submitted(ActivityId id, const After&, bool ready) {
  if (ready) start(id);
}

void AnalyticalEngine::watched(ActivityId id) {
  if (graph_.forgotten(id) || graph_[id].done) heap_.push(Event{now_, seq_++, id, true});
}

void AnalyticalEngine::run_backend() {
  while (!heap_.empty()) {
    const Event e = heap_.top();
    heap_.pop();
    if (!e.callback_only) {
      const auto it = active_slot_.find(e.id);
      if (it != active_slot_.end()) {
        if (active_[it->second].version != e.version) continue;  // its end moved since
        now_ = e.time;
        ActivityRecord& r = graph_[e.id];
        const bool stretched = active_[it->second].slowdown != 1.0 || active_[it->second].version != 0;
        leave(e.id);
        if (stretched) r.duration = now_ - r.start;
      } else if (graph_.forgotten(e.id) || graph_[e.id].done) {
        continue;  // the first end of a link-sharing activity that sped up and has already completed
      }
    }
    now_ = e.time;
    if (!e.callback_only) {
      count_completion();
      ready_.clear();
      graph_.complete(e.id, now_, ready_);
      for (ActivityId r : ready_) start(r);
    }
    if (has_callbacks(e.id)) fire(e.id, now_);
    if (!keep_history_) graph_.forget_completed();
  }
}

}  // namespace foresight::sim
