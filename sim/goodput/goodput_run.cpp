#include "sim/goodput/goodput_run.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>

#include "sim/engine/analytical/analytical_engine.hpp"

namespace foresight::sim {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

class JobRun {
 public:
  JobRun(const GoodputSpec& spec, const JobTimes& job, std::vector<FailureProcess::Cause> causes, uint64_t seed,
         TraceStream* trace)
      : spec_(spec), job_(job), failures_(std::move(causes), seed), straggler_rng_(seed ^ 0x9e3779b97f4a7c15ULL),
        engine_([](const CollectiveRequest&) { return CollectiveResult{}; }), trace_(trace) {
    stats_.horizon_s = spec.horizon_s;
    spares_ = spec.hot_spares;
  }

  RunStats run() {
    engine_.keep_history(false);
    if (trace_) trace_->name(0, 0, "job");
    start_running(0.0);
    schedule_next_failure();
    schedule_next_straggler(0.0);
    for (double t : spec_.injected_s) at(t, [this](double t2) { interrupt(t2, "injected", true, 1); });
    at(spec_.horizon_s, [this](double t) { end(t); });
    engine_.run();
    return stats_;
  }

 private:
  enum class State { running, stall, detect, wait, restart, reload, done };

  // A timer that fires `fn` unless the job moved to another epoch first (a failure cancels pending
  // checkpoints and recoveries).
  void at(double t, std::function<void(double)> fn, bool epoch_bound = false) {
    if (t > spec_.horizon_s && epoch_bound) return;
    const uint64_t epoch = epoch_;
    const ActivityId id = engine_.timer(std::min(t, spec_.horizon_s + 1.0));
    engine_.then(id, [this, fn = std::move(fn), epoch, epoch_bound](ActivityId) {
      if (state_ == State::done) return;
      if (epoch_bound && epoch != epoch_) return;
      fn(engine_.now());
    });
  }

  double rate() const { return straggling_ ? 1.0 / spec_.straggler_slowdown : 1.0; }

  // Brings the books up to `now`: progress while running, and the elapsed part of a stall or recovery.
  void advance(double now) {
    const double dt = std::max(0.0, now - since_);
    switch (state_) {
      case State::running:
        progress_ += dt * rate();
        stats_.straggling_s += dt * (1.0 - rate());
        break;
      case State::stall: stats_.checkpoint_stall_s += dt; break;
      case State::detect: stats_.detection_s += dt; break;
      case State::wait: stats_.waiting_s += dt; break;
      case State::restart: stats_.restart_s += dt; break;
      case State::reload: stats_.reload_s += dt; break;
      case State::done: break;
    }
    since_ = now;
  }

  void slice(const char* name, double from, double to) {
    if (!trace_ || to <= from) return;
    trace_->event({{"name", name}, {"ph", "X"}, {"ts", from * 1e6}, {"dur", (to - from) * 1e6}, {"pid", 0}, {"tid", 0}});
  }

  void enter(State s, double now, const char* name) {
    slice(state_name_, state_start_, now);
    state_ = s, state_start_ = now, state_name_ = name;
  }

  void start_running(double now) {
    advance(now);
    enter(State::running, now, "training");
    ++epoch_;
    if (next_checkpoint_ <= progress_) next_checkpoint_ = progress_ + job_.interval_s;
    schedule_checkpoint(now);
  }

  void schedule_checkpoint(double now) {
    const double t = now + std::max(0.0, next_checkpoint_ - progress_) / rate();
    // An async write still in flight holds the writer: the next checkpoint waits for it.
    at(std::max(t, writer_busy_until_), [this](double t2) { checkpoint(t2); }, true);
  }

  void checkpoint(double now) {
    advance(now);
    enter(State::stall, now, "checkpoint stall");
    ++epoch_;
    const double at_progress = progress_;
    const double stall = job_.checkpoint_stall_s;
    at(now + stall, [this, at_progress](double t) {
      advance(t);
      ++stats_.checkpoints;
      if (spec_.async_checkpoint) {
        // The copy is in host memory; the write completes later unless a failure comes first.
        const uint64_t epoch_at_write = failure_epoch_;
        writer_busy_until_ = t + job_.checkpoint_write_s;
        at(writer_busy_until_, [this, at_progress, epoch_at_write](double) {
          if (epoch_at_write == failure_epoch_) committed_ = std::max(committed_, at_progress);
        });
      } else {
        committed_ = at_progress;
      }
      next_checkpoint_ = at_progress + job_.interval_s;
      enter(State::running, t, "training");
      ++epoch_;
      schedule_checkpoint(t);
    }, true);
  }

  void schedule_next_failure() {
    const auto f = failures_.next();
    if (f.cause < 0 || f.time > spec_.horizon_s) return;
    at(f.time, [this, f](double t) {
      interrupt(t, failures_.causes()[static_cast<size_t>(f.cause)].spec.id,
                failures_.causes()[static_cast<size_t>(f.cause)].spec.needs_spare,
                failures_.causes()[static_cast<size_t>(f.cause)].nodes_per_failure);
      schedule_next_failure();
    });
  }

  void schedule_next_straggler(double now) {
    const double rate = spec_.straggler_rate * job_.gpus;
    if (!(rate > 0)) return;
    std::exponential_distribution<double> gap(rate);
    const double t = now + gap(straggler_rng_);
    if (t > spec_.horizon_s) return;
    at(t, [this](double t2) {
      if ((state_ == State::running || state_ == State::stall) && !straggling_) {
        advance(t2);
        straggling_ = true;
        if (state_ == State::running) {  // progress slows: the pending checkpoint moves later
          ++epoch_;
          schedule_checkpoint(t2);
        }
        const uint64_t fe = failure_epoch_;
        at(t2 + spec_.straggler_detect_s, [this, fe](double t3) {
          if (fe != failure_epoch_ || !straggling_) return;  // a restart already removed it
          ++stats_.straggler_evictions;
          interrupt(t3, "straggler", true, 1);
        });
      }
      schedule_next_straggler(t2);
    });
  }

  // A failure (or a straggler eviction) stops the job: the work since the last completed checkpoint
  // is lost, then detection, waiting for spares, restart and reload run one after another.
  void interrupt(double now, const std::string& cause, bool needs_spare, int nodes) {
    advance(now);
    ++stats_.interruptions;
    ++stats_.by_cause[cause];
    if (trace_)
      trace_->event({{"name", "failure: " + cause}, {"ph", "i"}, {"ts", now * 1e6}, {"pid", 0}, {"tid", 0}, {"s", "p"}});
    if (state_ == State::running || state_ == State::stall) {
      stats_.rework_s += progress_ - committed_;
      progress_ = committed_;
    }
    next_checkpoint_ = committed_ + job_.interval_s;
    straggling_ = false;
    writer_busy_until_ = 0;
    ++failure_epoch_;
    ++epoch_;
    enter(State::detect, now, "detect");
    double ready = now + spec_.detection_s;
    if (needs_spare) {
      // The failed nodes go to repair and come back as spares; the job takes spares if it has them.
      for (int i = 0; i < nodes; ++i) returns_.push_back(now + spec_.repair_s);
      std::sort(returns_.begin(), returns_.end());
      while (!returns_.empty() && returns_.front() <= ready) {
        ++spares_;
        returns_.pop_front();
      }
      double wait_until = ready;
      while (spares_ < nodes && !returns_.empty()) {
        wait_until = returns_.front();
        ++spares_;
        returns_.pop_front();
      }
      spares_ -= nodes;
      const double detected = ready;
      ready = std::max(ready, wait_until);
      if (ready > detected) {
        at(detected, [this](double t) {
          advance(t);
          enter(State::wait, t, "wait for spares");
        }, true);
      }
    }
    const double restarted = ready + spec_.restart_s;
    at(ready, [this](double t) {
      advance(t);
      enter(State::restart, t, "restart");
    }, true);
    at(restarted, [this](double t) {
      advance(t);
      enter(State::reload, t, "reload checkpoint");
    }, true);
    at(restarted + job_.checkpoint_read_s, [this](double t) { start_running(t); }, true);
  }

  void end(double now) {
    advance(now);
    slice(state_name_, state_start_, now);
    state_ = State::done;
    stats_.productive_s = progress_;
  }

  const GoodputSpec& spec_;
  JobTimes job_;
  FailureProcess failures_;
  std::mt19937_64 straggler_rng_;
  AnalyticalEngine engine_;
  TraceStream* trace_;
  RunStats stats_;
  State state_ = State::running;
  const char* state_name_ = "training";
  double state_start_ = 0, since_ = 0;
  double progress_ = 0, committed_ = 0, next_checkpoint_ = 0, writer_busy_until_ = 0;
  bool straggling_ = false;
  uint64_t epoch_ = 0, failure_epoch_ = 0;
  int spares_ = 0;
  std::deque<double> returns_;   // times failed nodes come back from repair
};

}  // namespace

RunStats simulate_goodput_run(const GoodputSpec& spec, const JobTimes& job, std::vector<FailureProcess::Cause> causes,
                              uint64_t seed, TraceStream* trace) {
  JobRun run(spec, job, std::move(causes), seed, trace);
  return run.run();
}

}  // namespace foresight::sim
