#pragma once
// The point-to-point transfers that move a request's prompt KV from its prefill replica to its
// decode replica. Each decode GPU receives the KV of its own layers (its pipeline stage) and its
// own KV heads (its tensor-parallel rank), from the prefill GPUs that hold them: a GPU-to-GPU
// message stream per (prefill GPU, decode GPU) pair that shares layers and heads, so differing TP
// or PP between the pools is a re-layout on the way (the book counts the re-layout itself as
// negligible, L8094). Heads a pool replicates (TP wider than the KV heads; latent attention's one
// latent on every rank) are received by every decode GPU that holds them, each from one holder.
#include <cstdint>
#include <vector>

#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

struct KvFlow {
  int src = 0, dst = 0;      // global GPU indices: prefill GPU, decode GPU
  double bytes = 0;
  int64_t layers = 0;        // layers whose KV this pair carries
  int64_t messages = 0;      // pages collated per message, or one message per layer when layer-wise
};

// `tokens`: prompt tokens whose KV moves (net of what the decode replica has cached). The pools'
// specs give TP, PP and the model; `kv` the page size and layer-wise choice.
std::vector<KvFlow> plan_kv_handoff(const ServingSpec& prefill, int prefill_first_gpu, const ServingSpec& decode,
                                    int decode_first_gpu, int64_t tokens, const KvTransferSpec& kv);

}  // namespace foresight::sim
