#pragma once
// The KV hand-offs in flight on the engine: each request's prompt KV as one transfer per
// (prefill GPU, decode GPU) pair (kv_handoff.hpp), each after its messages' fixed overhead, on the
// simulated fabric (contention-free in analytical fidelity, SimGrid flows sharing links with all
// other traffic in flow fidelity). Calls back once every part of a request's KV has landed.
#include <cstdint>
#include <functional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "sim/engine/engine.hpp"
#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

// What to send now: the whole KV; or, layer-wise, all layers but the last while the final prefill
// step runs (bulk) and the last layer once it has (tail).
enum class KvPart { all, bulk, tail };

struct KvEndpoints {
  const ServingSpec* prefill = nullptr;
  int prefill_first_gpu = 0;
  const ServingSpec* decode = nullptr;
  int decode_first_gpu = 0;
};

class KvTransfers {
 public:
  KvTransfers(const KvTransferSpec& spec, std::function<void(int64_t id)> landed) : spec_(spec), landed_(std::move(landed)) {}
  void bind(Engine* engine) { engine_ = engine; }
  // Starts `part` of request `id`'s hand-off of `tokens` tokens; returns the bytes it moves.
  double start(int64_t id, const KvEndpoints& where, int64_t tokens, KvPart part);

  nlohmann::json to_json() const;   // hand-offs, bytes, transfers, messages and the settings

 private:
  void part_done(int64_t id);

  struct InFlight {
    int pending = 0;
    bool last_part_started = false;
  };
  const KvTransferSpec& spec_;
  std::function<void(int64_t)> landed_;
  Engine* engine_ = nullptr;
  std::unordered_map<int64_t, InFlight> in_flight_;
  int64_t handoffs_ = 0, messages_ = 0, transfers_ = 0;
  double bytes_ = 0;
};

}  // namespace foresight::sim
