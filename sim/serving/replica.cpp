#include "sim/serving/replica.hpp"

#include <algorithm>

#include <boost/random/uniform_real_distribution.hpp>

namespace foresight::sim {

namespace {

// A running request whose only pending token is the one it sampled last step.
// A request whose prompt KV arrived from a prefill worker is one too: its first step recomputes the
// last prompt token against the received KV.
bool is_decode(const Request& r) { return (r.generated > 0 || r.remote_kv) && r.pending() == 1; }

// SGLang falls back to first-come-first-served when more requests wait than this
// (python/sglang/srt/managers/schedule_policy.py).
constexpr size_t kLpmQueueLimit = 128;

}  // namespace

Replica::Replica(int index, const ServingSpec& spec, int64_t kv_blocks, double block_bytes, uint64_t seed)
    : index_(index), spec_(spec), kv_(kv_blocks, spec.scheduler.block_size, spec.scheduler.prefix_caching),
      block_bytes_(block_bytes), rng_(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(index) + 1) {
  if (spec.kv_offload.enabled()) {
    std::vector<KvTierConfig> tiers;
    const double replica_block = block_bytes * spec.gpus_per_replica();  // every GPU's shard of a block
    for (const auto& t : spec.kv_offload.tiers)
      tiers.push_back({t.tier, std::max<int64_t>(1, static_cast<int64_t>(t.capacity / replica_block)), t.bandwidth,
                       t.bandwidth, t.on_links});
    tiers_ = std::make_unique<KvTiers>(std::move(tiers), block_bytes);
    kv_.attach_tiers(tiers_.get());
  }
}

bool Replica::can_hold(const Request& r) const {
  const auto& s = spec_.scheduler;
  if (kv_.blocks_for(r.input_tokens + (r.prefill_only ? 0 : r.output_tokens)) > kv_.total()) return false;
  if (s.max_model_len > 0 && r.input_tokens + r.output_tokens > s.max_model_len) return false;
  if (!s.chunked_prefill && r.input_tokens > s.max_num_batched_tokens) return false;
  return true;
}

void Replica::enqueue(Request* r) {
  r->replica = index_;
  waiting_tokens_ += r->pending();
  if (spec_.scheduler.policy == "priority") {
    auto later = [](const Request* a, const Request* b) {
      return a->priority != b->priority ? a->priority < b->priority : a->arrival < b->arrival;
    };
    waiting_.insert(std::upper_bound(waiting_.begin(), waiting_.end(), r, later), r);
  } else {
    waiting_.push_back(r);
  }
}

int64_t Replica::running_context_tokens() const {
  int64_t n = 0;
  for (const Request* r : running_) n += r->computed;
  return n;
}

void Replica::preempt(Request* victim, Step& step) {
  running_.erase(std::find(running_.begin(), running_.end(), victim));
  for (auto it = step.entries.begin(); it != step.entries.end(); ++it)
    if (it->request == victim) {  // scheduled earlier in this step: undo it
      step.entries.erase(it);
      break;
    }
  if (spec_.scheduler.preemption == "swap") {
    // The KV goes to host memory and comes back on readmission; computed tokens are kept.
    step.swap_bytes += double(kv_.blocks_for(victim->computed)) * block_bytes_;
    victim->swapped = true;
    kv_.release(*victim);
  } else {
    kv_.release(*victim);
    victim->computed = 0;  // recompute: the prompt and what was generated are prefilled again
  }
  victim->remote_kv = false;
  ++victim->preemptions;
  ++preemptions_;
  preempted_now_.push_back(victim);
  waiting_tokens_ += victim->pending();
  if (spec_.scheduler.policy == "priority") {
    auto later = [](const Request* a, const Request* b) {
      return a->priority != b->priority ? a->priority < b->priority : a->arrival < b->arrival;
    };
    waiting_.insert(std::upper_bound(waiting_.begin(), waiting_.end(), victim, later), victim);
  } else {
    waiting_.push_front(victim);
  }
}

void Replica::plan_running(int64_t& budget, Step& step, bool prefills_only, bool decodes_only) {
  const bool chunked = spec_.scheduler.chunked_prefill;
  size_t i = 0;
  while (i < running_.size() && budget > 0) {
    Request* r = running_[i];
    const bool decode = is_decode(*r);
    if ((prefills_only && decode) || (decodes_only && !decode)) {
      ++i;
      continue;
    }
    const int64_t n = chunked || decode ? std::min(r->pending(), budget) : r->pending();
    // A speculating decode verifies its drafts in the same pass: their KV needs room and they count
    // against the token budget (as vLLM schedules spec tokens), as far as the output still goes.
    const int64_t draft = decode && spec_.speculative.enabled() && r->generated > 0
                              ? std::max<int64_t>(0, std::min<int64_t>({spec_.speculative.tokens, budget - n,
                                                                        r->output_tokens - r->generated - 1}))
                              : 0;
    bool kept = true;
    while (!kv_.grow(*r, r->computed + n + draft)) {
      // Out of blocks: preempt the running request admitted last, or the least important one.
      Request* victim = running_.back();
      if (spec_.scheduler.policy == "priority")
        for (Request* c : running_)
          if (c->priority > victim->priority || (c->priority == victim->priority && c->arrival > victim->arrival))
            victim = c;
      const auto pos = static_cast<size_t>(std::find(running_.begin(), running_.end(), victim) - running_.begin());
      for (const auto& e : step.entries)
        if (e.request == victim) budget += e.tokens;
      preempt(victim, step);
      if (victim == r) {
        kept = false;
        break;
      }
      if (pos < i) --i;
    }
    if (!kept) continue;
    step.entries.push_back({r, n, r->computed, draft});
    budget -= n + draft;
    ++i;
  }
}

bool Replica::admit(Request* r, int64_t& budget, Step& step) {
  const auto& s = spec_.scheduler;
  const int bs = kv_.block_size();
  const int64_t pending_before = r->pending();
  int64_t hit = 0;
  if (!r->swapped && r->computed == 0) hit = kv_.match(*r);
  const int64_t pending = r->tokens() - (r->swapped ? r->computed : hit * bs);
  const int64_t n = s.chunked_prefill ? std::min(pending, budget) : pending;
  if (!s.chunked_prefill && n > budget) return false;
  // GUARANTEED_NO_EVICT reserves the whole sequence's KV at admission.
  const bool reserve_all = spec_.engine == ServingEngine::trtllm;
  if (hit > 0) kv_.acquire_prefix(*r, hit);
  const int64_t base = r->swapped ? r->computed : hit * bs;
  const int64_t want = reserve_all ? r->input_tokens + (r->prefill_only ? 0 : r->output_tokens) : base + n;
  if (!kv_.grow(*r, want)) {
    kv_.release(*r);
    if (!r->swapped) r->computed = 0;
    return false;
  }
  if (r->swapped) {
    step.swap_bytes += double(kv_.blocks_for(r->computed)) * block_bytes_;
    r->swapped = false;
  }
  cache_hit_tokens_ += hit * bs;
  if (r->generated == 0 && r->preemptions == 0) prompt_tokens_admitted_ += r->input_tokens;
  if (r->preemptions == 0) r->cached_tokens = hit * bs;
  waiting_tokens_ -= pending_before;
  waiting_.pop_front();
  // Asynchronous tier loads: the request holds its blocks and waits for them outside the batch.
  if (tiers_ && spec_.kv_offload.async_load) {
    const KvTiers::Traffic load = tiers_->take_loads();
    if (load.load_s > 0 || load.any_bytes()) {
      loading_.push_back(r);
      started_loads_.push_back({r, load.load_s, load.load_bytes});
      return true;
    }
  }
  running_.push_back(r);
  step.entries.push_back({r, n, r->computed});
  budget -= n;
  return true;
}

void Replica::load_done(Request* r) {
  loading_.erase(std::find(loading_.begin(), loading_.end(), r));
  running_.push_back(r);   // its remaining prompt is computed from the next step on
}

void Replica::order_waiting() {
  if (spec_.scheduler.policy != "lpm" || waiting_.size() > kLpmQueueLimit) return;
  std::vector<std::pair<int64_t, Request*>> keyed;
  for (Request* r : waiting_) keyed.emplace_back(r->computed == 0 && !r->swapped ? kv_.match(*r) : 0, r);
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < keyed.size(); ++i) waiting_[i] = keyed[i].second;
}

Step Replica::plan() {
  Step step;
  preempted_now_.clear();
  int64_t budget = spec_.scheduler.max_num_batched_tokens;
  const auto max_seqs = static_cast<size_t>(spec_.scheduler.max_num_seqs);
  auto admit_waiting = [&] {
    order_waiting();
    while (!waiting_.empty() && budget > 0 && running_.size() + loading_.size() < max_seqs)
      if (!admit(waiting_.front(), budget, step)) break;
  };
  // Requests whose KV arrived hold their blocks already: they join as decodes.
  auto admit_ready = [&] {
    while (!ready_.empty() && budget > 0 && running_.size() + loading_.size() < max_seqs) {
      Request* r = ready_.front();
      ready_.pop_front();
      prompt_tokens_admitted_ += r->input_tokens;
      running_.push_back(r);
      step.entries.push_back({r, 1, r->computed});
      budget -= 1;
    }
  };
  if (spec_.engine == ServingEngine::sglang) {
    // A prefill batch (chunks in progress, then new requests) if there is one, else a decode batch.
    plan_running(budget, step, true, false);
    if (preempted_now_.empty()) admit_waiting();
    if (step.empty()) {
      plan_running(budget, step, false, true);
      admit_ready();
    }
  } else {
    plan_running(budget, step, false, false);
    admit_ready();
    if (preempted_now_.empty()) admit_waiting();  // vLLM admits nothing in a step that preempted
  }
  for (const auto& e : step.entries) {
    const Request& r = *e.request;
    step.shape.tokens += e.tokens;
    if (e.context_before + e.tokens == r.tokens()) ++step.shape.sampled;
    if (e.draft > 0) {
      // The target verifies the sequence's new token and its drafts together: a short chunk of
      // draft + 1 queries against the context, with logits at every position.
      step.shape.tokens += e.draft;
      step.shape.sampled += e.draft;
      step.shape.prefills.emplace_back(e.tokens + e.draft, e.context_before);
      step.draft_context.push_back(e.context_before + 1);
      ++step.decode_tokens;
    } else if (is_decode(r) && e.tokens == 1) {
      step.shape.decode_context.push_back(e.context_before + 1);
      ++step.decode_tokens;
    } else {
      if (spec_.speculative.enabled()) step.draft_prefills.emplace_back(e.tokens, e.context_before);
      step.shape.prefills.emplace_back(e.tokens, e.context_before);
      step.prefill_tokens += e.tokens;
    }
  }
  if (tiers_) {
    const KvTiers::Traffic t = tiers_->drain();
    step.tier_load_s = t.load_s, step.tier_store_s = t.store_s;
    step.tier_load_bytes = std::move(t.load_bytes), step.tier_store_bytes = std::move(t.store_bytes);
  }
  return step;
}

void Replica::finish(Step& step, double now, const ReplicaEvents& events) {
  std::vector<Request*> done, handed;
  for (const auto& e : step.entries) {
    Request& r = *e.request;
    prefill_computed_ += std::max<int64_t>(0, std::min(e.tokens, r.input_tokens - e.context_before));
    r.computed += e.tokens;
    kv_.publish(r);
    if (r.computed != r.tokens()) continue;  // a prefill chunk with more to come
    if (r.prefill_only) {                     // its KV goes to a decode worker; the blocks stay until it has
      handed.push_back(&r);
      continue;
    }
    r.remote_kv = false;
    ++r.generated;
    if (r.first_token < 0) {
      r.first_token = now;
      events.first_token(r, now);
    } else {
      const double gap = now - r.last_token;
      r.itl_sum += gap;
      events.token_gap(r, gap);
    }
    r.last_token = now;
    if (e.draft > 0) {
      // Drafts accepted one by one with probability alpha until the first rejection; they arrive
      // with the step's own token, so their gaps are zero.
      const double alpha = spec_.speculative.acceptance;
      boost::random::uniform_real_distribution<double> u(0.0, 1.0);
      int64_t accepted = 0;
      while (accepted < e.draft && u(rng_) < alpha) ++accepted;
      for (int64_t k = 0; k < accepted; ++k) events.token_gap(r, 0.0);
      r.generated += accepted;
      r.computed += accepted;
      ++spec_steps_;
      spec_tokens_ += 1 + accepted;
    }
    if (r.done()) done.push_back(&r);
  }
  for (Request* r : handed) {
    running_.erase(std::find(running_.begin(), running_.end(), r));
    events.handed_off(*r, now);
  }
  for (Request* r : done) {
    running_.erase(std::find(running_.begin(), running_.end(), r));
    kv_.release(*r);
    r->finish = now;
    events.finished(*r, now);
  }
}

void Replica::release_handed_off(Request& r) {
  kv_.release(r);
}

std::vector<Request*> Replica::reserve_expected() {
  std::vector<Request*> reserved;
  const int bs = kv_.block_size();
  while (!incoming_.empty()) {
    Request* r = incoming_.front();
    const int64_t hit = kv_.match(*r);
    if (hit > 0) kv_.acquire_prefix(*r, hit);
    if (!kv_.grow(*r, r->input_tokens)) {  // first come, first served: the head waits for blocks
      kv_.release(*r);
      r->computed = 0;
      break;
    }
    cache_hit_tokens_ += hit * bs;
    r->cached_tokens = hit * bs;
    inbound_tokens_ -= r->input_tokens;
    incoming_.pop_front();
    reserved.push_back(r);
  }
  return reserved;
}

void Replica::kv_arrived(Request* r) {
  r->computed = r->input_tokens - 1;
  r->remote_kv = true;
  --inbound_;
  ready_.push_back(r);
}

}  // namespace foresight::sim
