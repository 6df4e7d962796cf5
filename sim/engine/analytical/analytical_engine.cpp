#include "sim/engine/analytical/analytical_engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace foresight::sim {

AnalyticalEngine::AnalyticalEngine(CollectiveModel& model)
    : model_(&model), timer_([&model](const CollectiveRequest& r) { return model.estimate(r); }) {}

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

void AnalyticalEngine::start(ActivityId id) {
  ActivityRecord& r = graph_[id];
  r.started = true;
  r.start = now_;
  r.duration = time_of(r);
  heap_.push(Event{now_ + r.duration, seq_++, id, false});
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
    now_ = e.time;
    if (!e.callback_only) {
      ready_.clear();
      graph_.complete(e.id, now_, ready_);
      for (ActivityId r : ready_) start(r);
    }
    if (has_callbacks(e.id)) fire(e.id, now_);
    if (!keep_history_) graph_.forget_completed();
  }
}

}  // namespace foresight::sim
