#pragma once
// One serving replica's scheduler, with the semantics of the engine it models:
//   vllm    continuous batching; each step first serves running requests in order (a decode token,
//           or the next prefill chunk), then admits waiting ones while the token budget, the
//           sequence limit and the KV blocks allow; when blocks run out it preempts the running
//           request admitted last (or of lowest priority) back to the front of the queue.
//   sglang  the same admission, but a step runs either a prefill batch or a decode batch, never
//           both (enable_mixed_chunk off); prefill first; lpm orders the queue by cached prefix.
//   trtllm  in-flight batching with GUARANTEED_NO_EVICT: a request is admitted only when the KV
//           of its whole prompt and output can be reserved, so nothing is ever preempted.
// The replica does not know time: plan() says what the next step runs, finish() applies it.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include <boost/random/mersenne_twister.hpp>

#include "sim/serving/iteration_cost.hpp"
#include "sim/serving/kv_cache.hpp"
#include "sim/serving/request.hpp"
#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

struct StepEntry {
  Request* request = nullptr;
  int64_t tokens = 0;          // new tokens this step computes for it
  int64_t context_before = 0;  // tokens already in its KV cache
  int64_t draft = 0;           // speculative decoding: drafted tokens the target verifies with it
};

struct Step {
  std::vector<StepEntry> entries;
  StepShape shape;
  double swap_bytes = 0;       // KV moved to or from host memory (per GPU) by swap preemption this step
  double tier_load_s = 0;      // KV offload: prefix blocks loaded back from tiers before this step runs
  double tier_store_s = 0;     // KV offload: evicted blocks written to tiers while it runs
  std::vector<double> tier_load_bytes, tier_store_bytes;   // per tier on links, per GPU (KvTiers::Traffic)
  int64_t prefill_tokens = 0, decode_tokens = 0;
  // Speculative decoding: what the drafter runs this step, the prompt chunks (it keeps its own KV)
  // and the context of each sequence it drafts for.
  std::vector<std::pair<int64_t, int64_t>> draft_prefills;
  std::vector<int64_t> draft_context;
  bool empty() const { return entries.empty(); }
};

// What the replica tells whoever records results.
struct ReplicaEvents {
  std::function<void(Request&, double now)> first_token;
  std::function<void(Request&, double gap)> token_gap;
  std::function<void(Request&, double now)> finished;   // the request is destroyed after this
  std::function<void(Request&)> preempted;
  // Disaggregated prefill: the prompt's KV is computed; the replica holds it until release_handed_off.
  std::function<void(Request&, double now)> handed_off;
};

class Replica {
 public:
  // `block_bytes`: one KV block on one GPU, for the host traffic of swap preemption.
  // `seed`: speculative decoding's acceptance draws.
  Replica(int index, const ServingSpec& spec, int64_t kv_blocks, double block_bytes, uint64_t seed = 1);

  int index() const { return index_; }
  void enqueue(Request* r);                  // routed here: waits for admission
  // Whether the replica can ever run this request (KV capacity, model length, token budget).
  bool can_hold(const Request& r) const;
  bool busy() const { return busy_; }
  void set_busy(bool b) { busy_ = b; }
  bool has_work() const { return !waiting_.empty() || !running_.empty() || !ready_.empty(); }
  // KV offload with asynchronous loads: requests admitted this step whose prefix is loading from a
  // tier, with the load's seconds; load_done() lets one join the batch.
  struct StartedLoad {
    Request* request;
    double seconds;                      // from timed tiers
    std::vector<double> bytes;           // per tier on links, per GPU
  };
  std::vector<StartedLoad> take_started_loads() { return std::exchange(started_loads_, {}); }
  void load_done(Request* r);
  // Builds the next step; empty when nothing can run.
  Step plan();
  // Applies a step that ended at `now`: tokens computed, sampled, requests finished.
  void finish(Step& step, double now, const ReplicaEvents& events);

  // Disaggregated prefill: frees the KV of a request handed off once its transfer completed.
  void release_handed_off(Request& r);
  // Disaggregated decode. A request whose prompt KV will come from a prefill worker queues for
  // blocks (expect); reserve_expected() reserves them in arrival order while they fit (after any
  // prefix this replica has cached) and returns the requests it reserved for; kv_arrived() makes a
  // reserved request ready to join the batch, its last prompt token recomputed by its first step
  // (which samples its first output token, as vLLM's KV connectors do).
  void expect(Request* r) { incoming_.push_back(r); }
  // Routed here for a remote prefill: counts as load from arrival until its KV lands (routers must
  // see requests whose prefill or hand-off is under way), its prompt as KV demand until reserved.
  void inbound(const Request& r) { ++inbound_, inbound_tokens_ += r.input_tokens; }
  int64_t inbound_tokens() const { return inbound_tokens_; }
  std::vector<Request*> reserve_expected();
  void kv_arrived(Request* r);

  // Load, for routers and admission.
  int64_t outstanding() const {
    return static_cast<int64_t>(waiting_.size() + running_.size() + ready_.size() + loading_.size()) + inbound_;
  }
  int64_t running() const { return static_cast<int64_t>(running_.size()); }
  int64_t waiting() const { return static_cast<int64_t>(waiting_.size()); }
  int64_t waiting_prefill_tokens() const { return waiting_tokens_; }
  const KvCache& kv() const { return kv_; }
  const KvTiers* tiers() const { return tiers_.get(); }   // null without serving.kv_offload
  int64_t running_context_tokens() const;
  int64_t prefix_match(const Request& r) const { return kv_.match(r); }

  // Counters.
  int64_t preemptions() const { return preemptions_; }
  int64_t prefill_computed() const { return prefill_computed_; }
  int64_t cache_hit_tokens() const { return cache_hit_tokens_; }
  int64_t speculative_steps() const { return spec_steps_; }     // sequence-steps that verified drafts
  int64_t speculative_tokens() const { return spec_tokens_; }   // tokens those emitted
  int64_t prompt_tokens_admitted() const { return prompt_tokens_admitted_; }

 private:
  bool admit(Request* r, int64_t& budget, Step& step);
  void preempt(Request* r, Step& step);
  void order_waiting();
  void plan_running(int64_t& budget, Step& step, bool prefills_only, bool decodes_only);

  int index_;
  const ServingSpec& spec_;
  KvCache kv_;
  std::unique_ptr<KvTiers> tiers_;
  double block_bytes_;
  std::deque<Request*> waiting_;
  std::vector<Request*> running_;
  std::vector<Request*> preempted_now_;
  std::deque<Request*> incoming_, ready_;   // disaggregated decode: awaiting blocks; KV arrived
  std::vector<Request*> loading_;            // KV offload, async: prefix loading from a tier
  std::vector<StartedLoad> started_loads_;
  int64_t inbound_ = 0, inbound_tokens_ = 0; // disaggregated decode: routed here, KV not landed / not reserved
  boost::random::mt19937_64 rng_;
  int64_t spec_steps_ = 0, spec_tokens_ = 0;
  int64_t waiting_tokens_ = 0;
  bool busy_ = false;
  int64_t preemptions_ = 0, prefill_computed_ = 0, cache_hit_tokens_ = 0, prompt_tokens_admitted_ = 0;
};

}  // namespace foresight::sim
