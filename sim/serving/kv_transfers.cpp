#include "sim/serving/kv_transfers.hpp"

#include <stdexcept>

#include "sim/serving/kv_handoff.hpp"

namespace foresight::sim {

double KvTransfers::start(int64_t id, const KvEndpoints& where, int64_t tokens, KvPart part) {
  if (!engine_) throw std::logic_error("KV transfers started before an engine was bound");
  InFlight& f = in_flight_[id];
  if (part != KvPart::tail) ++handoffs_;
  const double now = engine_->now();
  double moved = 0;
  for (const KvFlow& flow :
       plan_kv_handoff(*where.prefill, where.prefill_first_gpu, *where.decode, where.decode_first_gpu, tokens, spec_)) {
    double bytes = flow.bytes;
    int64_t messages = flow.messages;
    const double layers = double(flow.layers);
    if (part == KvPart::bulk) bytes *= (layers - 1) / layers, messages = flow.layers - 1;
    if (part == KvPart::tail) bytes /= layers, messages = 1;
    if (bytes <= 0) continue;
    // The messages' fixed costs (registration, descriptors, completion) come before the bytes.
    const ActivityId ready = engine_->timer(now + double(messages) * spec_.message_overhead_s);
    // No lane: RDMA reads and writes of different requests proceed side by side (sharing links),
    // not one after another as kernels on a stream would.
    const ActivityId x = engine_->transfer(flow.src, flow.dst, bytes, Lane{}, {ready});
    ++f.pending;
    engine_->then(x, [this, id](ActivityId) { part_done(id); });
    moved += bytes;
    bytes_ += bytes;
    messages_ += messages;
    ++transfers_;
  }
  if (part != KvPart::bulk) f.last_part_started = true;
  if (f.pending == 0 && f.last_part_started) {   // nothing to move: lands at once, in event order
    const ActivityId t = engine_->timer(now);
    ++f.pending;
    engine_->then(t, [this, id](ActivityId) { part_done(id); });
  }
  return moved;
}

void KvTransfers::part_done(int64_t id) {
  auto it = in_flight_.find(id);
  if (it == in_flight_.end()) throw std::logic_error("a KV transfer completed for a hand-off not in flight");
  if (--it->second.pending > 0 || !it->second.last_part_started) return;
  in_flight_.erase(it);
  landed_(id);
}

nlohmann::json KvTransfers::to_json() const {
  return {{"handoffs", handoffs_},
          {"bytes", bytes_},
          {"messages", messages_},
          {"transfers", transfers_},
          {"mode", spec_.mode},
          {"layerwise", spec_.layerwise},
          {"page_tokens", spec_.page_tokens},
          {"message_overhead_us", spec_.message_overhead_s * 1e6}};
}

}  // namespace foresight::sim
