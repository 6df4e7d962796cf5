#include "sim/serving/serving_run.hpp"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

#include "core/error.hpp"
#include "sim/metrics/trace_stream.hpp"
#include "sim/serving/iteration_cost.hpp"
#include "sim/serving/kv_tier_traffic.hpp"
#include "sim/serving/serving_cost.hpp"
#include "sim/serving/kv_transfers.hpp"
#include "sim/serving/replica.hpp"
#include "sim/serving/replica_memory.hpp"
#include "sim/serving/request_source.hpp"
#include "sim/serving/router.hpp"
#include "sim/serving/serving_metrics.hpp"
#include "sim/serving/serving_report.hpp"

namespace foresight::sim {

namespace {

// Weight of the newest step in the moving averages admission control estimates TTFT from.
constexpr double kEmaWeight = 0.1;

enum class Role { colocated, prefill, decode };
const char* role_name(Role r) { return r == Role::prefill ? "prefill " : r == Role::decode ? "decode " : ""; }

struct ReplicaSlot {
  std::unique_ptr<Replica> replica;
  std::unique_ptr<IterationCost> cost;
  std::unique_ptr<IterationCost> draft_cost;   // speculative decoding's drafter on the same GPUs
  const ServingSpec* spec = nullptr;   // the replica's pool (the scenario's spec when colocated)
  Role role = Role::colocated;
  int first_gpu = 0;
  Step step;                      // the step in flight
  double step_start = 0;
  double ema_step = 0, ema_per_token = 0;
  StepCost cost_sum;
  bool kick_pending = false;
  double host_bandwidth = 0;      // bytes/s to host memory (swap preemption)
};

class ServingDriver {
 public:
  ServingDriver(Session& session, const ServingSpec& spec, const ServingRunOptions& options)
      : session_(session), spec_(spec), options_(options),
        disaggregated_(spec.disaggregation.enabled()),
        decode_spec_(disaggregated_ ? *spec.disaggregation.decode : spec),
        memory_(plan_replica_memory(decode_spec_, session.for_system(decode_spec_.system).cluster().gpu())),
        source_(spec, session.scenario().seed),
        router_(decode_spec_, session.scenario().seed, decode_spec_.replicas), metrics_(spec, options.requests_csv),
        transfers_(spec.disaggregation.kv, [this](int64_t id) { kv_landed(id); }),
        progress_(options.quiet ? ProgressSink{} : session.options().progress, "requests") {
    if (!options.trace_path.empty()) trace_ = std::make_unique<TraceStream>(options.trace_path);
    if (disaggregated_) {
      const ServingSpec& p = *spec.disaggregation.prefill;
      prefill_memory_ = plan_replica_memory(p, session.for_system(p.system).cluster().gpu());
      add_pool(p, Role::prefill, prefill_memory_, prefill_slots_, prefill_replicas_);
      if (spec.disaggregation.prefill_routing != "global_queue")
        prefill_router_ = std::make_unique<Router>(p, session.scenario().seed + 1, p.replicas);
    }
    add_pool(decode_spec_, disaggregated_ ? Role::decode : Role::colocated, memory_, decode_slots_, decode_replicas_);
    events_.first_token = [this](Request& r, double now) { metrics_.first_token(r, now); };
    events_.token_gap = [this](Request&, double gap) { metrics_.token_gap(gap); };
    events_.finished = [this](Request& r, double now) { on_finished(r, now); };
    events_.handed_off = [this](Request& r, double now) { handed_off(r, now); };
  }

  ServingOutcome run() {
    engine_ = session_.engine();
    engine_->keep_history(false);  // steps and arrivals are never looked up afterwards
    transfers_.bind(engine_.get());
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

  void add_pool(const ServingSpec& pool, Role role, const ReplicaMemory& memory, std::vector<int>& slot_ids,
                std::vector<Replica*>& replicas) {
    for (int r = 0; r < pool.replicas; ++r) {
      const int k = static_cast<int>(slots_.size());
      ReplicaSlot s;
      s.spec = &pool;
      s.role = role;
      s.first_gpu = pool.first_gpus.empty() ? r * pool.gpus_per_replica() : pool.first_gpus[static_cast<size_t>(r)];
      std::vector<int> ranks(static_cast<size_t>(pool.gpus_per_replica()));
      for (size_t i = 0; i < ranks.size(); ++i) ranks[i] = s.first_gpu + static_cast<int>(i);
      s.replica = std::make_unique<Replica>(k, pool, memory.blocks, memory.block_bytes, session_.scenario().seed);
      // Steps are priced on the pool's own system (its GPU's kernels, its NVLink), in its numbering.
      Session& hw = session_.for_system(pool.system);
      const int lo = &hw == &session_ ? 0 : session_.cluster().gpus_of(pool.system).first;
      std::vector<int> local(ranks);
      for (int& g : local) g -= lo;
      s.cost = std::make_unique<IterationCost>(pool, hw.compute(), hw.collectives(), hw.measured_collectives_in_use(), local);
      // PCIe to host memory carries swapped-out KV (the system's GPU-to-host path, catalog).
      s.host_bandwidth = hw.cluster().system().pcie_bandwidth;
      if (pool.speculative.enabled() && role != Role::prefill) {
        draft_specs_.push_back(std::make_unique<ServingSpec>(draft_spec(pool)));
        s.draft_cost = std::make_unique<IterationCost>(*draft_specs_.back(), hw.compute(), hw.collectives(),
                                                       hw.measured_collectives_in_use(), local);
      }
      slots_.push_back(std::move(s));
      slot_ids.push_back(k);
      replicas.push_back(slots_.back().replica.get());
      if (trace_)
        trace_->name(k, -1, fmt::format("{}replica {} (GPUs {}-{})", role_name(role), r, slots_.back().first_gpu,
                                        slots_.back().first_gpu + pool.gpus_per_replica() - 1));
    }
  }

  void arrive(std::unique_ptr<Request> owned) {
    Request* r = owned.get();
    const double now = engine_->now();
    r->arrival = now;
    metrics_.arrived(*r, now);
    if (!decode_replicas_.front()->can_hold(*r)) return reject(std::move(owned), "too_long");
    const int k = decode_slots_[static_cast<size_t>(router_.choose(*r, decode_replicas_))];
    ReplicaSlot& slot = slots_[static_cast<size_t>(k)];
    const bool remote = disaggregated_ && prefill_remotely(*r, *slot.replica);
    if (spec_.admission.policy == "estimated_ttft" && r->priority >= spec_.admission.reject_priority &&
        estimated_ttft(*r, slot, remote) > spec_.slo.ttft_s) {
      r->replica = k;
      return reject(std::move(owned), "estimated_ttft");
    }
    if (remote) {
      auto copy = prefill_copy(*r);
      if (!prefill_replicas_.front()->can_hold(*copy)) return reject(std::move(owned), "too_long");
      ++remote_prefills_;
      r->replica = k;
      slot.replica->inbound(*r);
      live_.emplace(r->id, std::move(owned));
      prefill_copies_.emplace(r->id, std::move(copy));
      if (spec_.disaggregation.kv.mode == "push") {
        slot.replica->expect(r);   // blocks first, then the prefill that writes into them
        reserve(k);
      } else {
        send_to_prefill(r->id);
      }
      return;
    }
    local_prefills_ += disaggregated_;
    live_.emplace(r->id, std::move(owned));
    slot.replica->enqueue(r);
    kick_soon(k);
  }

  // The book's early rejection estimate: queued prefill work at the recent per-token rate, plus one
  // step for the decodes it waits behind. Prefilled remotely: the prefill pool's queued tokens
  // (global queue and workers) shared by its workers at their mean recent rate, one prefill step,
  // then the decode worker's first step (the hand-off is not estimated: it is small on a fabric,
  // and a router cannot see it coming).
  double estimated_ttft(const Request& r, const ReplicaSlot& decode, bool remote) const {
    if (!remote)
      return double(decode.replica->waiting_prefill_tokens() + r.input_tokens) * decode.ema_per_token + decode.ema_step;
    int64_t queued = 0;
    for (const Request* c : global_queue_) queued += c->input_tokens;
    double per_token = 0, step = 0;
    for (int k : prefill_slots_) {
      const ReplicaSlot& p = slots_[static_cast<size_t>(k)];
      queued += p.replica->waiting_prefill_tokens();
      per_token += p.ema_per_token, step += p.ema_step;
    }
    const double n = double(prefill_slots_.size());
    return (double(queued) / n + double(r.input_tokens)) * (per_token / n) + step / n + decode.ema_step;
  }

  // The conditional rule on the decode worker (disaggregation_spec.hpp); always remote without it.
  bool prefill_remotely(const Request& r, const Replica& decode) const {
    const auto& c = spec_.disaggregation.conditional;
    if (!c.enabled) return true;
    const int64_t eff = r.input_tokens - decode.prefix_match(r) * decode.kv().block_size();
    int64_t queued = static_cast<int64_t>(global_queue_.size());
    for (const Replica* p : prefill_replicas_) queued += p->waiting();
    if (eff >= c.min_tokens && queued < c.max_prefill_queue) return true;
    return decode.running() >= c.busy_decode_active && eff >= c.busy_min_tokens;
  }

  // The prefill pool's copy of a request: the prompt only.
  std::unique_ptr<Request> prefill_copy(const Request& r) const {
    auto c = std::make_unique<Request>();
    c->id = r.id, c->arrival = r.arrival, c->input_tokens = r.input_tokens, c->output_tokens = 1;
    c->priority = r.priority, c->block_hashes = r.block_hashes;
    c->prefill_only = true;
    return c;
  }

  void send_to_prefill(int64_t id) {
    Request* c = prefill_copies_.at(id).get();
    if (!prefill_router_) {
      global_queue_.push_back(c);
      feed_prefill();
      return;
    }
    const int k = prefill_slots_[static_cast<size_t>(prefill_router_->choose(*c, prefill_replicas_))];
    slots_[static_cast<size_t>(k)].replica->enqueue(c);
    kick_soon(k);
  }

  // The global prefill queue: a prefill worker takes the next request while less than a step's
  // token budget waits for it, the one with the fewest requests in hand (waiting or running)
  // first, so an idle worker gets work before a busy one queues more.
  void feed_prefill() {
    while (!global_queue_.empty()) {
      int best = -1;
      std::pair<int64_t, int64_t> least{0, 0};
      for (int k : prefill_slots_) {
        const Replica& rep = *slots_[static_cast<size_t>(k)].replica;
        const int64_t queued = rep.waiting_prefill_tokens();
        if (queued >= slots_[static_cast<size_t>(k)].spec->scheduler.max_num_batched_tokens) continue;
        const std::pair<int64_t, int64_t> load{rep.waiting() + rep.running(), queued};
        if (best < 0 || load < least) best = k, least = load;
      }
      if (best < 0) return;
      slots_[static_cast<size_t>(best)].replica->enqueue(global_queue_.front());
      global_queue_.pop_front();
      kick_soon(best);
    }
  }

  // Decode replica k reserves blocks for the hand-offs it expects; push mode then prefills them,
  // pull mode reads their KV from the prefill worker now holding it.
  void reserve(int k) {
    for (Request* r : slots_[static_cast<size_t>(k)].replica->reserve_expected()) {
      if (spec_.disaggregation.kv.mode == "push") send_to_prefill(r->id);
      else start_kv(*r, KvPart::all);
    }
  }

  void start_kv(Request& r, KvPart part) {
    const Request& c = *prefill_copies_.at(r.id);
    const ReplicaSlot& p = slots_[static_cast<size_t>(c.replica)];
    const ReplicaSlot& d = slots_[static_cast<size_t>(r.replica)];
    if (r.kv_started < 0) r.kv_started = engine_->now();
    // The decode replica's cached prefix (its computed tokens at reservation) stays where it is.
    const double bytes = transfers_.start(r.id, {p.spec, p.first_gpu, d.spec, d.first_gpu}, r.input_tokens - r.computed, part);
    r.kv_bytes += bytes;
  }

  // The prefill worker computed the prompt: hand its KV off.
  void handed_off(Request& c, double now) {
    Request& r = *live_.at(c.id);
    r.scheduled = c.scheduled;
    r.prefill_done = now;
    r.prefill_replica = c.replica;
    const auto& kv = spec_.disaggregation.kv;
    if (kv.mode == "pull") {
      slots_[static_cast<size_t>(r.replica)].replica->expect(&r);
      reserve(r.replica);
    } else {
      start_kv(r, kv.layerwise ? KvPart::tail : KvPart::all);
    }
  }

  // Every byte of the request's KV is on its decode worker: the prefill worker lets go of its copy.
  void kv_landed(int64_t id) {
    Request& r = *live_.at(id);
    auto it = prefill_copies_.find(id);
    const int p = it->second->replica;
    slots_[static_cast<size_t>(p)].replica->release_handed_off(*it->second);
    prefill_copies_.erase(it);
    r.kv_arrived = engine_->now();
    slots_[static_cast<size_t>(r.replica)].replica->kv_arrived(&r);
    kick_soon(r.replica);
    kick_soon(p);
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
    // Asynchronous tier loads run on the replica's copy stream, beside its steps.
    for (const auto& l : rep.take_started_loads()) {
      tier_async_s_ += l.seconds;
      const ActivityId load =
          engine_->compute(Lane{slot.first_gpu, 1}, l.seconds, tier_transfers(slot, l.bytes, true));
      engine_->then(load, [this, k, r = l.request](ActivityId) {
        slots_[static_cast<size_t>(k)].replica->load_done(r);
        kick_soon(k);
      });
    }
    // Tier stores leave beside the step (even when nothing runs: the evictions happened planning it).
    tier_transfers(slot, slot.step.tier_store_bytes, false);
    if (slot.step.empty()) return;  // waiting for blocks held by nothing running cannot happen: can_hold checked
    const StepCost c = slot.cost->step(slot.step.shape);
    slot.cost_sum.gemm += c.gemm, slot.cost_sum.attention += c.attention, slot.cost_sum.memory += c.memory;
    slot.cost_sum.communication += c.communication, slot.cost_sum.overhead += c.overhead;
    const double swap = slot.host_bandwidth > 0 ? slot.step.swap_bytes / slot.host_bandwidth : 0.0;
    const double draft = slot.draft_cost ? draft_time(slot) : 0.0;
    draft_time_ += draft;
    rep.set_busy(true);
    slot.step_start = engine_->now();
    for (const auto& e : slot.step.entries)
      if (e.request->scheduled < 0) e.request->scheduled = slot.step_start;
    // KV offload: loads from the tiers come before the forward pass (the whole batch waits); stores
    // overlap it and cost time only past it.
    const double tiers = slot.step.tier_load_s + std::max(0.0, slot.step.tier_store_s - c.total());
    tier_time_ += tiers;
    // Tier loads on links arrive before the step starts.
    const std::vector<ActivityId> loads = tier_transfers(slot, slot.step.tier_load_bytes, true);
    const ActivityId id = engine_->compute(Lane{slot.first_gpu, 0}, c.total() + swap + draft + tiers, loads);
    engine_->then(id, [this, k](ActivityId) { step_done(k); });
    // Layer-wise push: the KV of every layer but the last goes out while this step computes it.
    if (slot.role == Role::prefill && spec_.disaggregation.kv.layerwise)
      for (const auto& e : slot.step.entries)
        if (e.context_before + e.tokens == e.request->input_tokens) start_kv(*live_.at(e.request->id), KvPart::bulk);
  }

  std::vector<ActivityId> tier_transfers(const ReplicaSlot& slot, const std::vector<double>& bytes, bool load) {
    return send_kv_tier_traffic(*engine_, session_.cluster(), *slot.spec, slot.first_gpu, bytes, load, tier_link_bytes_);
  }

  // The drafter's share of a step: its prefill of the step's prompt chunks, then gamma decode
  // passes, one after another, over the sequences it drafts for (each at its current context).
  double draft_time(ReplicaSlot& slot) {
    const Step& st = slot.step;
    double t = 0;
    if (!st.draft_prefills.empty()) {
      StepShape p;
      p.prefills = st.draft_prefills;
      for (const auto& [n, ctx] : p.prefills) p.tokens += n;
      t += slot.draft_cost->step(p).total();
    }
    if (!st.draft_context.empty()) {
      StepShape d;
      d.tokens = d.sampled = static_cast<int64_t>(st.draft_context.size());
      d.decode_context = st.draft_context;
      for (int i = 0; i < slot.spec->speculative.tokens; ++i) {
        t += slot.draft_cost->step(d).total();
        for (auto& c : d.decode_context) ++c;
      }
    }
    return t;
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
    if (slot.role == Role::decode) reserve(k);     // blocks freed: expected hand-offs may fit now
    if (slot.role == Role::prefill) feed_prefill();
    kick(k);
  }

  void on_finished(Request& r, double now) {
    metrics_.finished(r, now);
    progress_.update(double(++finished_), double(spec_.workload.requests));
    const int client = r.client;
    live_.erase(r.id);
    if (client >= 0) next_for_client(client);
  }

  nlohmann::json disaggregation_json() const {
    using nlohmann::json;
    auto pool = [this](const ServingSpec& p, const ReplicaMemory& m) {
      Session& hw = session_.for_system(p.system);
      return json{{"system", hw.cluster().system().id},
                  {"gpu", hw.cluster().gpu().id},
                  {"compute_model", hw.compute().provenance()},
                  {"replicas", p.replicas},
                  {"tp", p.tp},
                  {"pp", p.pp},
                  {"ep", p.ep},
                  {"gpus", p.replicas * p.gpus_per_replica()},
                  {"first_gpus", p.first_gpus},
                  {"kv_blocks_per_replica", m.blocks},
                  {"max_num_batched_tokens", p.scheduler.max_num_batched_tokens},
                  {"max_num_seqs", p.scheduler.max_num_seqs},
                  {"weights_per_gpu_bytes", m.weights}};
    };
    const auto& d = spec_.disaggregation;
    json j{{"prefill", pool(*d.prefill, prefill_memory_)},
           {"decode", pool(decode_spec_, memory_)},
           {"prefill_routing", d.prefill_routing},
           {"remote_prefills", remote_prefills_},
           {"local_prefills", local_prefills_},
           {"kv_transfer", transfers_.to_json()}};
    if (d.conditional.enabled)
      j["conditional"] = {{"min_tokens", d.conditional.min_tokens},
                          {"max_prefill_queue", d.conditional.max_prefill_queue},
                          {"busy_decode_active", d.conditional.busy_decode_active},
                          {"busy_min_tokens", d.conditional.busy_min_tokens}};
    j["kv_transfer"]["provenance"] =
        fmt::format("one transfer per (prefill GPU, decode GPU) pair sharing layers and KV heads, after {:.0f} us per message "
                    "(book L7941/L7996: LMCache 16- vs 128-token pages); {}",
                    d.kv.message_overhead_s * 1e6,
                    engine_->shares_links() ? "SimGrid flows sharing links by max-min with all other traffic"
                                            : "each at its contention-free time on its route (analytical)");
    return j;
  }

  nlohmann::json cost_json(double output_tokens_per_s) {
    std::vector<const ServingSpec*> pools{&decode_spec_};
    if (disaggregated_) pools = {spec_.disaggregation.prefill.get(), &decode_spec_};
    std::vector<std::pair<const hw::GpuSpec*, int>> gpus;
    for (const ServingSpec* p : pools)
      gpus.emplace_back(&session_.for_system(p->system).cluster().gpu(), p->replicas * p->gpus_per_replica());
    return serving_cost_json(spec_.cost, gpus, output_tokens_per_s);
  }

  nlohmann::json tiers_json() const {
    std::vector<const Replica*> replicas;
    for (const auto& s : slots_) replicas.push_back(s.replica.get());
    return kv_tiers_json(decode_spec_.kv_offload, replicas, {tier_time_, tier_async_s_, tier_link_bytes_});
  }

  ServingOutcome outcome() {
    using nlohmann::json;
    const int gpus = spec_.total_gpus();
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
    j["kv"]["blocks_per_replica"] = memory_.blocks;   // the decode pool's when disaggregated
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
                   {"replicas", decode_spec_.replicas},
                   {"tp", decode_spec_.tp},
                   {"pp", decode_spec_.pp},
                   {"gpus", gpus},
                   {"router", spec_.router.policy},
                   // The decode pool's when disaggregated (each pool's own in `disaggregation`).
                   {"max_num_seqs", decode_spec_.scheduler.max_num_seqs},
                   {"max_num_batched_tokens", decode_spec_.scheduler.max_num_batched_tokens},
                   {"chunked_prefill", decode_spec_.scheduler.chunked_prefill},
                   {"prefix_caching", decode_spec_.scheduler.prefix_caching},
                   {"block_size", decode_spec_.scheduler.block_size},
                   {"policy", decode_spec_.scheduler.policy},
                   {"preemption", decode_spec_.scheduler.preemption},
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
    if (disaggregated_) j["disaggregation"] = disaggregation_json();
    if (decode_spec_.speculative.enabled()) {
      const auto& sp = decode_spec_.speculative;
      int64_t steps = 0, tokens = 0;
      for (const auto& s : slots_) steps += s.replica->speculative_steps(), tokens += s.replica->speculative_tokens();
      j["speculative"] = {{"method", sp.method},
                          {"draft_model", sp.method == "draft" ? sp.draft_model.id : decode_spec_.model.id + " MTP layer"},
                          {"tokens", sp.tokens},
                          {"acceptance", sp.acceptance},
                          {"expected_tokens_per_step", sp.expected_tokens()},
                          {"sequence_steps", steps},
                          {"tokens_emitted", tokens},
                          {"mean_tokens_per_step", steps ? double(tokens) / double(steps) : 0.0},
                          {"draft_time_s", draft_time_}};
    }
    if (decode_spec_.kv_offload.enabled()) j["kv"]["tiers"] = tiers_json();
    if (spec_.cost.enabled()) j["cost"] = cost_json(j["throughput"]["output_tokens_per_s"].get<double>());
    if (source_.skipped_trace_rows() > 0)
      warnings_.push_back(fmt::format("{} trace rows with 0 input or output tokens were skipped", source_.skipped_trace_rows()));
    if (!options_.requests_csv.empty()) j["requests_file"] = options_.requests_csv;
    if (trace_) j["trace_events"] = trace_->events();
    j["warnings"] = warnings_;
    out.attainment = metrics_.attainment();
    out.goodput = metrics_.goodput();
    out.offered_rate = spec_.workload.arrivals.rate;
    if (!options_.quiet) out.report = serving_report(j, spec_);
    return out;
  }

  Session& session_;
  const ServingSpec& spec_;
  ServingRunOptions options_;
  bool disaggregated_;
  const ServingSpec& decode_spec_;     // the decode pool's, or the scenario's when colocated
  ReplicaMemory memory_, prefill_memory_;
  RequestSource source_;
  Router router_;                      // over the decode pool (every replica when colocated)
  std::unique_ptr<Router> prefill_router_;   // null: the global prefill queue
  ServingMetrics metrics_;
  KvTransfers transfers_;
  double tier_time_ = 0;               // step time added by KV offload traffic
  double tier_async_s_ = 0;            // asynchronous tier loads, beside the steps
  double tier_link_bytes_ = 0;         // tier traffic sent as transfers on simulated links
  std::unique_ptr<TraceStream> trace_;
  std::unique_ptr<Engine> engine_;
  std::vector<ReplicaSlot> slots_;
  std::vector<int> prefill_slots_, decode_slots_;
  std::vector<Replica*> prefill_replicas_, decode_replicas_;
  std::unordered_map<int64_t, std::unique_ptr<Request>> live_;
  std::unordered_map<int64_t, std::unique_ptr<Request>> prefill_copies_;
  std::deque<Request*> global_queue_;
  int64_t remote_prefills_ = 0, local_prefills_ = 0;
  std::vector<std::unique_ptr<ServingSpec>> draft_specs_;
  double draft_time_ = 0;
  ReplicaEvents events_;
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
