#pragma once
// One inference request as the simulator tracks it: what arrived, and what happened to it.
#include <cstdint>
#include <vector>

namespace foresight::sim {

struct Request {
  int64_t id = 0;
  double arrival = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;        // tokens to generate (the first comes with the prefill)
  int priority = 0;                 // 0 is the most important
  // Hashes of the prompt's full KV blocks, chained so equal hashes mean equal prefixes; empty
  // unless prefix caching is on.
  std::vector<uint64_t> block_hashes;
  int client = -1;                  // closed loop: which client sent it

  // Progress.
  int replica = -1;
  int64_t computed = 0;             // tokens whose KV is in the cache (prompt, then generated)
  int64_t generated = 0;            // output tokens emitted so far
  int64_t cached_tokens = 0;        // prompt tokens served by the prefix cache at (last) admission
  int64_t blocks = 0;               // KV blocks held
  std::vector<int32_t> cached_blocks;   // the prefix-cache blocks it holds a reference to (slots)
  int64_t hashed = 0;               // leading prompt blocks already offered to the prefix cache
  int preemptions = 0;
  double first_token = -1;
  double last_token = -1;
  double finish = -1;
  double itl_sum = 0;               // sum of gaps between consecutive output tokens
  bool swapped = false;             // preempted by swap: its KV waits in host memory
  double scheduled = -1;            // first planned into a step: its queueing ends

  // Disaggregated serving: the prefill pool works on a copy of the request that stops once the
  // prompt's KV is computed; the decode pool's copy then receives that KV and generates.
  bool prefill_only = false;        // the prefill pool's copy
  bool remote_kv = false;           // the decode copy, its prompt KV received, before its first step
  int prefill_replica = -1;
  double prefill_done = -1;         // the prompt's KV computed on the prefill worker
  double kv_started = -1;           // its first KV bytes left (layer-wise: while the prefill still ran)
  double kv_arrived = -1;           // ... and the last landed on the decode worker
  double kv_bytes = 0;              // moved over the fabric for it

  // Tokens of the sequence so far (prompt and generated) and those whose KV is still to compute: a
  // step computes some of them; when none are left it samples the next token.
  int64_t tokens() const { return input_tokens + generated; }
  int64_t pending() const { return tokens() - computed; }
  bool done() const { return generated >= output_tokens; }
};

}  // namespace foresight::sim
