#pragma once
// Disaggregated prefill/decode (`serving.disaggregation`): a prefill pool and a decode pool, each
// with its own replicas, parallelism, placement and scheduler, and the KV hand-off between them.
//
//   disaggregation:
//     prefill: {replicas: 2, parallelism: {tp: 4}, placement: [0, 4], scheduler: {...}}
//     decode:  {replicas: 1, parallelism: {tp: 8}}
//     prefill_routing: global_queue     # or any router policy, over the prefill pool
//     conditional: {min_tokens: 256, max_prefill_queue: 10, busy_decode_active: 8, busy_min_tokens: 64}
//     kv_transfer: {mode: pull, page_tokens: 16, message_overhead_us: 29, layerwise: false}
#include <cstdint>
#include <memory>
#include <string>

namespace foresight::sim {

struct ServingSpec;

// How a request's prompt KV goes from its prefill worker to its decode worker.
struct KvTransferSpec {
  // pull (vLLM's NIXL connector): the decode worker is chosen and reserves blocks when the prefill
  // ends, then reads them; the prefill worker holds its copy until the read completes.
  // push (vLLM's P2P-NCCL connector, Dynamo): the decode worker is chosen and reserves blocks when
  // the request arrives; the prefill starts only once they are reserved, and writes into them.
  std::string mode = "pull";
  int page_tokens = 0;              // tokens per message (pages collated); 0 = the decode pool's block size
  // Per message: the book's LMCache example (7,500 tokens as ~470 16-token pages ~ 20 ms against
  // 128-token pages ~ 8 ms, L7941/L7996) implies (20 - 8) ms / (470 - 59) messages ~ 29 us.
  double message_overhead_s = 29e-6;
  // Send each layer's KV as soon as it is computed (push only): one message per layer, all but the
  // last layer overlapping the prefill's final step.
  bool layerwise = false;
};

// The book's conditional disaggregation, decided on the decode worker (L7389-7427): with
// eff = prompt - prefix cached on that worker, prefill remotely if eff >= min_tokens and fewer than
// max_prefill_queue requests wait for the prefill pool, or if the worker runs at least
// busy_decode_active sequences and eff >= busy_min_tokens; else prefill locally on the decode worker.
struct ConditionalDisaggregation {
  bool enabled = false;             // off: every request is prefilled remotely
  int64_t min_tokens = 256;
  int64_t max_prefill_queue = 10;
  int64_t busy_decode_active = 8;
  int64_t busy_min_tokens = 64;
};

struct DisaggregationSpec {
  // Each pool is a whole replica description (the scenario's engine, model, precision and KV dtype,
  // its own replicas, parallelism, placement and scheduler); null when serving is colocated.
  std::shared_ptr<ServingSpec> prefill, decode;
  std::string prefill_routing = "global_queue";   // global_queue | a router policy
  ConditionalDisaggregation conditional;
  KvTransferSpec kv;
  bool enabled() const { return prefill != nullptr; }
};

}  // namespace foresight::sim
