#include "sim/serving/kv_handoff.hpp"

#include <algorithm>
#include <map>

#include "sim/serving/replica_memory.hpp"

namespace foresight::sim {

namespace {

// Layers [first, last) of pipeline stage s of pp over `layers` (the serving replicas' even split).
std::pair<int64_t, int64_t> stage_layers(int64_t layers, int pp, int s) {
  return {layers * s / pp, layers * (s + 1) / pp};
}

// KV head units a TP rank holds: a contiguous share when tp <= units, else the one unit its rank
// group replicates.
std::pair<int64_t, int64_t> rank_units(int64_t units, int tp, int rank) {
  if (units >= tp) return {rank * units / tp, (rank + 1) * units / tp};
  const int64_t u = int64_t(rank) * units / tp;
  return {u, u + 1};
}

// The TP ranks holding unit u: [first, last).
std::pair<int, int> unit_holders(int64_t units, int tp, int64_t u) {
  if (units >= tp) {
    const int r = static_cast<int>(u / (units / tp));
    return {r, r + 1};
  }
  return {static_cast<int>(u * tp / units), static_cast<int>((u + 1) * tp / units)};
}

}  // namespace

std::vector<KvFlow> plan_kv_handoff(const ServingSpec& prefill, int prefill_first_gpu, const ServingSpec& decode,
                                    int decode_first_gpu, int64_t tokens, const KvTransferSpec& kv) {
  const auto& m = decode.model;
  const int64_t layers = m.layers;
  // Latent attention caches one latent per token and layer that every rank keeps whole: one unit.
  const int64_t units = m.mla.kv_lora_rank > 0 ? 1 : m.kv_heads;
  const double bytes_per_unit_layer = kv_bytes_per_token(decode) / double(layers * units) * double(tokens);
  std::map<std::pair<int, int>, KvFlow> pairs;
  for (int t = 0; t < decode.pp; ++t) {
    const auto [dl0, dl1] = stage_layers(layers, decode.pp, t);
    for (int s = 0; s < prefill.pp; ++s) {
      const auto [pl0, pl1] = stage_layers(layers, prefill.pp, s);
      const int64_t shared = std::min(dl1, pl1) - std::max(dl0, pl0);
      if (shared <= 0) continue;
      for (int j = 0; j < decode.tp; ++j) {
        const auto [u0, u1] = rank_units(units, decode.tp, j);
        for (int64_t u = u0; u < u1; ++u) {
          const auto [h0, h1] = unit_holders(units, prefill.tp, u);
          const int i = h0 + j % (h1 - h0);   // spread replicated units over their holders
          const int src = prefill_first_gpu + s * prefill.tp + i, dst = decode_first_gpu + t * decode.tp + j;
          KvFlow& f = pairs[{src, dst}];
          f.src = src, f.dst = dst;
          f.bytes += bytes_per_unit_layer * double(shared);
          f.layers = shared;   // every unit of a pair spans the same shared layers
        }
      }
    }
  }
  const int64_t pages = (tokens + kv.page_tokens - 1) / kv.page_tokens;
  std::vector<KvFlow> out;
  out.reserve(pairs.size());
  for (auto& [key, f] : pairs) {
    f.messages = kv.layerwise ? f.layers : pages;
    out.push_back(f);
  }
  return out;
}

}  // namespace foresight::sim
