#include "sim/engine/engine.hpp"

#include <cmath>
#include <stdexcept>

namespace foresight::sim {

ActivityId Engine::add(ActivityRecord r, const After& after) {
  const ActivityId id = graph_.add(r, after);
  submitted(id, after, graph_[id].pending == 0);
  return id;
}

ActivityId Engine::compute(Lane lane, double seconds, const After& after) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) throw std::logic_error("compute activity with a negative or non-finite duration");
  ActivityRecord r;
  r.kind = ActivityKind::compute;
  r.lane = lane;
  r.value = seconds;
  return add(r, after);
}

ActivityId Engine::collective(const CollectiveRequest& req, Lane lane, const After& after) {
  ActivityRecord r;
  r.kind = ActivityKind::collective;
  r.lane = lane;
  r.a = graph_.requests.intern(req);
  return add(r, after);
}

ActivityId Engine::collective(std::shared_ptr<const CollectivePlan> plan, Lane lane, const After& after) {
  if (!plan) throw std::logic_error("collective activity without a plan");
  ActivityRecord r;
  r.kind = ActivityKind::collective;
  r.lane = lane;
  r.b = static_cast<int>(graph_.plans.size());
  graph_.plans.push_back(std::move(plan));
  return add(r, after);
}

ActivityId Engine::transfer(int src, int dst, double bytes, Lane lane, const After& after) {
  if (!(bytes >= 0) || !std::isfinite(bytes)) throw std::logic_error("transfer of a negative or non-finite size");
  ActivityRecord r;
  r.kind = ActivityKind::transfer;
  r.lane = lane;
  r.a = src;
  r.b = dst;
  r.value = bytes;
  return add(r, after);
}

ActivityId Engine::timer(double at) {
  if (std::isnan(at)) throw std::logic_error("timer at NaN");
  ActivityRecord r;
  r.kind = ActivityKind::timer;
  r.value = at;
  return add(r, {});
}

void Engine::then(ActivityId id, Callback cb) {
  if (id < 0 || static_cast<size_t>(id) >= graph_.size()) throw std::logic_error("then() on an unknown activity");
  auto& list = callbacks_[id];
  list.push_back(std::move(cb));
  if (list.size() == 1) watched(id);
}

void Engine::run() {
  if (ran_) throw std::logic_error("an engine runs once");
  ran_ = true;
  run_backend();
}

void Engine::fire(ActivityId id, double time) {
  auto it = callbacks_.find(id);
  if (it == callbacks_.end()) return;
  // Callbacks may register more callbacks (even for this activity), so take the list first.
  std::vector<Callback> list = std::move(it->second);
  callbacks_.erase(it);
  now_ = time;
  for (auto& cb : list) cb(id);
}

namespace {
void check_kept(const ActivityGraph& g, ActivityId id) {
  if (id < 0 || static_cast<size_t>(id) >= g.size()) throw std::logic_error("unknown activity");
  if (g.forgotten(id)) throw std::logic_error("the engine did not keep this completed activity (keep_history(false))");
}
}  // namespace

double Engine::start_time(ActivityId id) const {
  check_kept(graph_, id);
  return graph_[id].start;
}
double Engine::end_time(ActivityId id) const {
  check_kept(graph_, id);
  return graph_[id].end;
}
double Engine::duration(ActivityId id) const {
  check_kept(graph_, id);
  const ActivityRecord& r = graph_[id];
  return r.duration >= 0 ? r.duration : r.end - r.start;
}

}  // namespace foresight::sim
