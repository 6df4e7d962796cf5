#include "sim/serving/serving_run.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

#include "core/error.hpp"
#include "sim/metrics/trace_stream.hpp"
#include "sim/serving/iteration_cost.hpp"
#include "sim/serving/replica.hpp"
#include "sim/serving/replica_memory.hpp"
#include "sim/serving/request_source.hpp"
#include "sim/serving/router.hpp"
#include "sim/serving/serving_metrics.hpp"

namespace foresight::sim {

namespace {

// Weight of the newest step in the moving averages admission control estimates TTFT from.
constexpr double kEmaWeight = 0.1;

struct ReplicaSlot {
  std::unique_ptr<Replica> replica;
  std::unique_ptr<IterationCost> cost;
  int first_gpu = 0;
  Step step;                      // the step in flight
  double step_start = 0;
  double ema_step = 0, ema_per_token = 0;
  StepCost cost_sum;
  bool kick_pending = false;
};

class ServingDriver {
 public:
  ServingDriver(Session& session, const ServingSpec& spec, const ServingRunOptions& options)
      : session_(session), spec_(spec), options_(options), memory_(plan_replica_memory(spec, session.cluster().gpu())),
        source_(spec, session.scenario().seed),
        router_(spec, session.scenario().seed, spec.replicas), metrics_(spec, options.requests_csv),
        progress_(options.quiet ? ProgressSink{} : session.options().progress, "requests") {
    if (!options.trace_path.empty()) trace_ = std::make_unique<TraceStream>(options.trace_path);
    // PCIe to host memory carries swapped-out KV (the system's GPU-to-host path, catalog).
    host_bandwidth_ = session.cluster().system().pcie_bandwidth;
    for (int r = 0; r < spec.replicas; ++r) {
      ReplicaSlot s;
      s.first_gpu = spec.first_gpus.empty() ? r * spec.gpus_per_replica() : spec.first_gpus[static_cast<size_t>(r)];
      std::vector<int> ranks(static_cast<size_t>(spec.gpus_per_replica()));
      for (size_t i = 0; i < ranks.size(); ++i) ranks[i] = s.first_gpu + static_cast<int>(i);
      s.replica = std::make_unique<Replica>(r, spec, memory_.blocks, memory_.block_bytes);
      s.cost = std::make_unique<IterationCost>(spec, session.compute(), session.collectives(),
                                               session.measured_collectives_in_use(), ranks);
      slots_.push_back(std::move(s));
      replicas_.push_back(slots_.back().replica.get());
      if (trace_)
        trace_->name(r, -1, fmt::format("replica {} (GPUs {}-{})", r, slots_.back().first_gpu,
                                        slots_.back().first_gpu + spec.gpus_per_replica() - 1));
    }
    events_.first_token = [this](Request& r, double now) { metrics_.first_token(r, now); };
    events_.token_gap = [this](Request&, double gap) { metrics_.token_gap(gap); };
    events_.finished = [this](Request& r, double now) { on_finished(r, now); };
  }

  ServingOutcome run() {
    engine_ = session_.engine();
    engine_->keep_history(false);  // steps and arrivals are never looked up afterwards
    if (source_.closed_loop()) {
      for (int c = 0; c < spec_.workload.arrivals.concurrency; ++c)
        if (auto r = source_.next_for(c, 0.0)) arrive(std::make_unique<Request>(std::move(*r)));
    } else {
      schedule_next_arrival();
    }
    engine_->run();
    progress_.finish(double(spec_.workload.requests));
    metrics_.close();
    if (trace_) trace_->close();
    return outcome();
  }

 private:
  void schedule_next_arrival() {
    auto r = source_.next();
    if (!r) return;
    auto owned = std::make_shared<std::unique_ptr<Request>>(std::make_unique<Request>(std::move(*r)));
    const ActivityId t = engine_->timer((*owned)->arrival);
    engine_->then(t, [this, owned](ActivityId) {
      arrive(std::move(*owned));
      schedule_next_arrival();
    });
  }

  void arrive(std::unique_ptr<Request> owned) {
    Request* r = owned.get();
    const double now = engine_->now();
    r->arrival = now;
    metrics_.arrived(*r, now);
    if (!replicas_.front()->can_hold(*r)) return reject(std::move(owned), "too_long");
    const int k = router_.choose(*r, replicas_);
    ReplicaSlot& slot = slots_[static_cast<size_t>(k)];
    if (spec_.admission.policy == "estimated_ttft" && r->priority >= spec_.admission.reject_priority) {
      // The book's early rejection: queued prefill work at the replica's recent per-token rate,
      // plus one step for the decodes it would wait behind.
      const double est = double(slot.replica->waiting_prefill_tokens() + r->input_tokens) * slot.ema_per_token +
                         slot.ema_step;
      if (est > spec_.slo.ttft_s) {
        r->replica = k;
        return reject(std::move(owned), "estimated_ttft");
      }
    }
    live_.emplace(r->id, std::move(owned));
    slot.replica->enqueue(r);
    kick_soon(k);
  }

  // Requests that arrive at the same instant are all queued before the replica plans its step: the
  // step starts from a zero-delay timer, which runs after the events already due now.
  void kick_soon(int k) {
    ReplicaSlot& slot = slots_[static_cast<size_t>(k)];
    if (slot.kick_pending || slot.replica->busy()) return;
    slot.kick_pending = true;
    const ActivityId t = engine_->timer(engine_->now());
    engine_->then(t, [this, k](ActivityId) {
      slots_[static_cast<size_t>(k)].kick_pending = false;
      kick(k);
    });
  }

  void reject(std::unique_ptr<Request> r, const std::string& reason) {
    metrics_.rejected(*r, reason, engine_->now());
    if (r->client >= 0) next_for_client(r->client);
  }

  void next_for_client(int client) {
    if (auto n = source_.next_for(client, engine_->now())) arrive(std::make_unique<Request>(std::move(*n)));
  }

  void kick(int k) {
    ReplicaSlot& slot = slots_[static_cast<size_t>(k)];
    Replica& rep = *slot.replica;
    if (rep.busy() || !rep.has_work()) return;
    slot.step = rep.plan();
    if (slot.step.empty()) return;  // waiting for blocks held by nothing running cannot happen: can_hold checked
    const StepCost c = slot.cost->step(slot.step.shape);
    slot.cost_sum.gemm += c.gemm, slot.cost_sum.attention += c.attention, slot.cost_sum.memory += c.memory;
    slot.cost_sum.communication += c.communication, slot.cost_sum.overhead += c.overhead;
    const double swap = host_bandwidth_ > 0 ? slot.step.swap_bytes / host_bandwidth_ : 0.0;
    rep.set_busy(true);
    slot.step_start = engine_->now();
    const ActivityId id = engine_->compute(Lane{slot.first_gpu, 0}, c.total() + swap);
    engine_->then(id, [this, k](ActivityId) { step_done(k); });
  }

  void step_done(int k) {
    ReplicaSlot& slot = slots_[static_cast<size_t>(k)];
    const double now = engine_->now();
    Step& step = slot.step;
    const double dur = now - slot.step_start;
    if (step.shape.tokens > 0) {
      slot.ema_step = slot.ema_step == 0 ? dur : (1 - kEmaWeight) * slot.ema_step + kEmaWeight * dur;
      const double per_token = dur / double(step.shape.tokens);
      slot.ema_per_token = slot.ema_per_token == 0 ? per_token : (1 - kEmaWeight) * slot.ema_per_token + kEmaWeight * per_token;
    }
    metrics_.step(step, *slot.replica, slot.step_start, now);
    if (trace_)
      trace_->event({{"name", step.prefill_tokens > 0 ? (step.decode_tokens > 0 ? "mixed" : "prefill") : "decode"},
                     {"ph", "X"},
                     {"ts", slot.step_start * 1e6},
                     {"dur", dur * 1e6},
                     {"pid", k},
                     {"tid", 0},
                     {"args",
                      {{"sequences", step.entries.size()},
                       {"prefill_tokens", step.prefill_tokens},
                       {"decode_tokens", step.decode_tokens},
                       {"waiting", slot.replica->waiting()},
                       {"kv_blocks_in_use", slot.replica->kv().in_use()}}}});
    // Still busy while finishing: requests that finished may bring closed-loop successors here,
    // and they must wait for the next step rather than be planned mid-update.
    slot.replica->finish(step, now, events_);
    slot.replica->set_busy(false);
    kick(k);
  }

  void on_finished(Request& r, double now) {
    metrics_.finished(r, now);
    progress_.update(double(++finished_), double(spec_.workload.requests));
    const int client = r.client;
    live_.erase(r.id);
    if (client >= 0) next_for_client(client);
  }

  ServingOutcome outcome() {
    using nlohmann::json;
    const int gpus = spec_.replicas * spec_.gpus_per_replica();
    ServingOutcome out;
    json& j = out.section;
    j = metrics_.to_json(gpus);
    int64_t preemptions = 0, hits = 0, prefill = 0, acquired = 0, released = 0, evictions = 0, in_use = 0;
    StepCost sum;
    for (const auto& s : slots_) {
      preemptions += s.replica->preemptions();
      hits += s.replica->cache_hit_tokens();
      prefill += s.replica->prefill_computed();
      acquired += s.replica->kv().acquired();
      released += s.replica->kv().released();
      evictions += s.replica->kv().evictions();
      in_use += s.replica->kv().in_use();
      sum.gemm += s.cost_sum.gemm, sum.attention += s.cost_sum.attention, sum.memory += s.cost_sum.memory;
      sum.communication += s.cost_sum.communication, sum.overhead += s.cost_sum.overhead;
    }
    j["preemptions"] = preemptions;
    j["kv"]["blocks_per_replica"] = memory_.blocks;
    j["kv"]["block_tokens"] = spec_.scheduler.block_size;
    j["kv"]["bytes_per_token_per_gpu"] = memory_.kv_bytes_per_token;
    j["kv"]["block_references_acquired"] = acquired;
    j["kv"]["block_references_released"] = released;
    j["kv"]["blocks_in_use_at_end"] = in_use;
    j["kv"]["evictions"] = evictions;
    j["kv"]["cache_hit_tokens"] = hits;
    j["prefill_tokens_computed"] = prefill;
    j["memory_per_gpu_bytes"] = {{"capacity", memory_.capacity},       {"usable", memory_.usable},
                                 {"weights", memory_.weights},         {"activations", memory_.activations},
                                 {"reserved", memory_.reserved},       {"kv_cache", double(memory_.blocks) * memory_.block_bytes},
                                 {"kv_blocks_overridden", memory_.overridden}};
    const double busy = sum.total();
    j["step_time_s"] = {{"gemm", sum.gemm},
                        {"attention", sum.attention},
                        {"memory_ops", sum.memory},
                        {"communication", sum.communication},
                        {"cpu_overhead", sum.overhead},
                        {"total", busy}};
    j["config"] = {{"engine", engine_name(spec_.engine)},
                   {"model", spec_.model.id},
                   {"precision", spec_.precision},
                   {"kv_dtype", spec_.kv_dtype},
                   {"replicas", spec_.replicas},
                   {"tp", spec_.tp},
                   {"pp", spec_.pp},
                   {"gpus", gpus},
                   {"router", spec_.router.policy},
                   {"max_num_seqs", spec_.scheduler.max_num_seqs},
                   {"max_num_batched_tokens", spec_.scheduler.max_num_batched_tokens},
                   {"chunked_prefill", spec_.scheduler.chunked_prefill},
                   {"prefix_caching", spec_.scheduler.prefix_caching},
                   {"block_size", spec_.scheduler.block_size},
                   {"policy", spec_.scheduler.policy},
                   {"preemption", spec_.scheduler.preemption},
                   {"arrivals", spec_.workload.arrivals.kind}};
    if (spec_.workload.arrivals.kind == "poisson" || spec_.workload.arrivals.kind == "gamma" ||
        spec_.workload.arrivals.kind == "constant")
      j["config"]["rate_per_s"] = spec_.workload.arrivals.rate;
    if (spec_.workload.arrivals.kind == "closed_loop") j["config"]["concurrency"] = spec_.workload.arrivals.concurrency;
    j["provenance"] = {{"compute_model", session_.compute().provenance()},
                       {"iteration_overhead", fmt::format("{} s per step: {}", spec_.scheduler.iteration_overhead_s,
                                                          spec_.scheduler.iteration_overhead_source)},
                       {"memory", memory_.sources},
                       {"fidelity", std::string(engine_->fidelity()) +
                                        ": each step is one activity on the replica's first GPU; its tensor-parallel "
                                        "all-reduces are timed by the collective model inside the step"}};
    if (source_.skipped_trace_rows() > 0)
      warnings_.push_back(fmt::format("{} trace rows with 0 input or output tokens were skipped", source_.skipped_trace_rows()));
    if (!options_.requests_csv.empty()) j["requests_file"] = options_.requests_csv;
    if (trace_) j["trace_events"] = trace_->events();
    j["warnings"] = warnings_;
    out.attainment = metrics_.attainment();
    out.goodput = metrics_.goodput();
    out.offered_rate = spec_.workload.arrivals.rate;
    if (!options_.quiet) out.report = report(j);
    return out;
  }

  std::string report(const nlohmann::json& j) const {
    auto row = [](const char* name, const nlohmann::json& h) {
      return fmt::format("    {:<5} mean {:>9.2f}  p50 {:>9.2f}  p90 {:>9.2f}  p99 {:>9.2f}  p99.9 {:>9.2f} ms\n", name,
                         h["mean"].get<double>(), h["p50"].get<double>(), h["p90"].get<double>(), h["p99"].get<double>(),
                         h["p999"].get<double>());
    };
    const auto& c = j["config"];
    std::string s = fmt::format(
        "serving {} with {}: {} replica(s) x TP{} PP{} ({} GPUs), {} precision, KV {}, router {}\n", c["model"].get<std::string>(),
        c["engine"].get<std::string>(), spec_.replicas, spec_.tp, spec_.pp, c["gpus"].get<int>(), spec_.precision,
        spec_.kv_dtype, spec_.router.policy);
    s += fmt::format("  requests {}: {} completed, {} rejected, {} preemptions; {:.2f} s simulated\n", j["requests"].get<int64_t>(),
                     j["completed"].get<int64_t>(), j["rejected"].get<int64_t>(), j["preemptions"].get<int64_t>(),
                     j["duration_s"].get<double>());
    s += "  latency:\n" + row("TTFT", j["ttft_ms"]) + row("TPOT", j["tpot_ms"]) + row("ITL", j["itl_ms"]) +
         row("E2E", j["e2e_ms"]);
    const auto& t = j["throughput"];
    s += fmt::format("  throughput: {:.2f} req/s, {:.0f} input tok/s, {:.0f} output tok/s ({:.1f} output tok/s/GPU)\n",
                     t["requests_per_s"].get<double>(), t["input_tokens_per_s"].get<double>(),
                     t["output_tokens_per_s"].get<double>(), t["output_tokens_per_s_per_gpu"].get<double>());
    const auto& g = j["goodput"];
    s += fmt::format("  goodput (TTFT <= {:.0f} ms and TPOT <= {:.0f} ms): {:.2f} req/s, attainment {:.1f} %; p{:g}: TTFT {:.1f} ms, TPOT {:.1f} ms\n",
                     g["ttft_slo_ms"].get<double>(), g["tpot_slo_ms"].get<double>(), g["requests_per_s"].get<double>(),
                     100 * g["attainment"].get<double>(), g["percentile"].get<double>(),
                     g["ttft_at_percentile_ms"].get<double>(), g["tpot_at_percentile_ms"].get<double>());
    const auto& b = j["batch"];
    const auto& kv = j["kv"];
    s += fmt::format("  batch: {:.1f} sequences and {:.0f} tokens per step on average ({} steps); KV: {} blocks of {} tokens "
                     "per replica, {:.1f} % mean / {:.1f} % peak use, prefix hits {:.1f} %\n",
                     b["mean_sequences"].get<double>(), b["mean_tokens"].get<double>(), b["steps"].get<int64_t>(),
                     kv["blocks_per_replica"].get<int64_t>(), kv["block_tokens"].get<int>(),
                     100 * kv["mean_utilization"].get<double>(), 100 * kv["peak_utilization"].get<double>(),
                     100 * kv["prefix_hit_rate"].get<double>());
    const auto& m = j["memory_per_gpu_bytes"];
    s += fmt::format("  memory per GPU: weights {:.1f} GiB, activations {:.1f} GiB, reserved {:.1f} GiB, KV cache {:.1f} GiB of {:.1f} GiB usable\n",
                     m["weights"].get<double>() / 1073741824.0, m["activations"].get<double>() / 1073741824.0,
                     m["reserved"].get<double>() / 1073741824.0, m["kv_cache"].get<double>() / 1073741824.0,
                     m["usable"].get<double>() / 1073741824.0);
    const auto& st = j["step_time_s"];
    const double tot = st["total"].get<double>();
    auto pct = [tot](double v) { return tot > 0 ? 100 * v / tot : 0.0; };
    s += fmt::format("  step time: GEMM {:.1f} %, attention {:.1f} %, memory ops {:.1f} %, communication {:.1f} %, CPU overhead {:.1f} %\n",
                     pct(st["gemm"].get<double>()), pct(st["attention"].get<double>()), pct(st["memory_ops"].get<double>()),
                     pct(st["communication"].get<double>()), pct(st["cpu_overhead"].get<double>()));
    s += fmt::format("  cost model: {}\n", j["provenance"]["compute_model"].get<std::string>());
    for (const auto& w : j["warnings"]) s += "  warning: " + w.get<std::string>() + "\n";
    if (j.contains("requests_file")) s += "  requests: " + j["requests_file"].get<std::string>() + "\n";
    return s;
  }

  Session& session_;
  const ServingSpec& spec_;
  ServingRunOptions options_;
  ReplicaMemory memory_;
  RequestSource source_;
  Router router_;
  ServingMetrics metrics_;
  std::unique_ptr<TraceStream> trace_;
  std::unique_ptr<Engine> engine_;
  std::vector<ReplicaSlot> slots_;
  std::vector<Replica*> replicas_;
  std::unordered_map<int64_t, std::unique_ptr<Request>> live_;
  ReplicaEvents events_;
  double host_bandwidth_ = 0;
  std::vector<std::string> warnings_;
  ProgressReporter progress_;
  int64_t finished_ = 0;
};

}  // namespace

ServingOutcome run_serving(Session& session, const ServingSpec& spec, const ServingRunOptions& options) {
  ServingDriver driver(session, spec, options);
  return driver.run();
}

}  // namespace foresight::sim
