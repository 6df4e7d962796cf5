#pragma once
// The helpers layer_ops.cpp and moe_ops.cpp build work templates with: a Builder that collects
// items (communication blocking the next compute item unless issued async and waited for
// explicitly) and the per-rank shape of one microbatch.
#include <string>
#include <vector>

#include "sim/model/param_counts.hpp"
#include "sim/training/layer_ops.hpp"

namespace foresight::sim {

constexpr double kActBytes = 2.0;  // 16-bit activations (fp8 training keeps activations in bf16)

// Collects items; a comm is blocking (the next compute item waits for it) unless issued async, in
// which case a later item names it explicitly via wait().
class Builder {
 public:
  Builder(const TrainingSpec& s, std::string category) : s_(s), category_(std::move(category)) {}

  void gemm(const std::string& name, double m, double n, double k, double batch = 1) {
    if (s_.precision == "fp8") fp8_cast(name, m * k * batch);
    WorkItem w;
    w.kind = WorkItem::Kind::gemm;
    w.name = name;
    w.gemm.m = int64_t(m), w.gemm.n = int64_t(n), w.gemm.k = int64_t(k), w.gemm.batch = int64_t(batch);
    w.gemm.dtype = name.rfind("router", 0) == 0 ? act_dtype(s_) : gemm_dtype(s_);
    push(std::move(w));
  }
  void attention(const std::string& name, const hw::AttentionQuery& q) {
    WorkItem w;
    w.kind = WorkItem::Kind::attention;
    w.name = name;
    w.attn = q;
    w.attn.dtype = act_dtype(s_);
    push(std::move(w));
  }
  // FP8 training (Transformer Engine's delayed scaling) quantizes each linear layer's A operand before
  // its GEMM: the input in the forward pass, the output gradient for the data gradient, each cast
  // together with the transposed copy the weight gradient needs (TE's cast_transpose: read 2 B,
  // write 1 + 1 B per element). The casts of the QKV and fc1 inputs are fused into the preceding
  // LayerNorm (LayerNormLinear/LayerNormMLP), which then only writes the two FP8 copies. The weight
  // gradient reuses both casts; core attention and the output layer stay in BF16 and are not cast.
  void fp8_cast(const std::string& name, double elements) {
    const bool wgrad = name.size() > 6 && name.compare(name.size() - 6, 6, "_wgrad") == 0;
    if (wgrad || name.rfind("attn_qk", 0) == 0 || name.rfind("attn_pv", 0) == 0 || name == "logits") return;
    // The router runs in 16 bit; routed tokens arrive already quantized when the dispatch is fp8
    // (DeepEP), and casting the expert activations per token is not modelled.
    if (name.rfind("router", 0) == 0 || name.rfind("expert_", 0) == 0) return;
    const bool fused_with_norm = name == "qkv" || name == "fc1";
    memory(name + "_fp8_cast", elements * (fused_with_norm ? 2.0 : 4.0), elements);
  }
  void memory(const std::string& name, double bytes, double flops) {
    WorkItem w;
    w.kind = WorkItem::Kind::memory;
    w.name = name;
    w.mem.op = name;
    w.mem.bytes = bytes;
    w.mem.flops = flops;
    push(std::move(w));
  }
  // Returns the item index, or -1 when the group has one rank (no communication).
  int comm(const std::string& name, ParallelDim group, CollectiveOp op, double bytes, bool async = false) {
    if (s_.par.size(group) <= 1 || bytes <= 0) return -1;
    WorkItem w;
    w.kind = WorkItem::Kind::comm;
    w.name = name;
    w.group = group;
    w.category = dim_name(group);
    w.op = op;
    w.bytes = bytes;
    items_.push_back(std::move(w));
    const int idx = int(items_.size()) - 1;
    if (!async) pending_.push_back(idx);
    return idx;
  }
  void wait(int idx) {
    if (idx >= 0) pending_.push_back(idx);
  }
  void append(const WorkTemplate& other, const std::string& category) {
    const int offset = int(items_.size());
    for (WorkItem w : other) {
      for (int& i : w.waits) i += offset;
      if (w.kind != WorkItem::Kind::comm) w.category = category;
      items_.push_back(std::move(w));
    }
  }
  WorkTemplate take() { return std::move(items_); }
  // Marks the last item as scaling with the busiest expert rank's routed tokens (WorkItem::Routed).
  void route_last(WorkItem::Routed r) { items_.back().routed = r; }
  int size() const { return int(items_.size()); }

 private:
  void push(WorkItem w) {
    w.category = category_;
    w.waits = pending_;
    pending_.clear();
    items_.push_back(std::move(w));
  }
  const TrainingSpec& s_;
  std::string category_;
  WorkTemplate items_;
  std::vector<int> pending_;
};

struct Shape {
  double b, s_local, s_full, n, n_sp, h, d, hq, hkv, ffn, fc1, V;
  bool sp, glu, dropout;
  bool mla;                  // latent attention: d is the mean of the QK and V head dims (exact FLOPs)
  double q_lora, kv_lora, d_qk, d_rope, d_v;
};

inline Shape shape_of(const TrainingSpec& s) {
  const auto& m = s.model;
  const auto& p = s.par;
  Shape x{};
  x.b = double(s.micro_batch);
  x.s_full = double(s.sequence_length);
  x.s_local = x.s_full / p.cp;
  x.n = x.b * x.s_local;                    // tokens this rank's GEMMs see
  x.sp = s.par.sequence_parallel && p.tp > 1;
  x.n_sp = x.sp ? x.n / p.tp : x.n;         // tokens elementwise ops see
  x.h = m.hidden;
  x.d = head_dim(m);
  x.hq = double(m.heads) / p.tp;
  x.hkv = std::max(1.0, double(m.kv_heads) / p.tp);  // replicated when tp > kv_heads
  x.ffn = double(m.ffn_hidden) / p.tp;
  x.glu = m.activation == "swiglu";
  x.fc1 = (x.glu ? 2.0 : 1.0) * x.ffn;
  x.V = double(m.vocab) / p.tp;
  x.dropout = has_biases(m);                // GPT-style models train with dropout; Llama-style do not
  x.mla = m.mla.kv_lora_rank > 0;
  if (x.mla) {
    x.q_lora = m.mla.q_lora_rank, x.kv_lora = m.mla.kv_lora_rank, x.d_rope = m.mla.qk_rope_head_dim;
    x.d_qk = m.mla.qk_nope_head_dim + x.d_rope, x.d_v = m.mla.v_head_dim;
    x.d = attention_head_dim(m);
    x.hkv = x.hq;   // keys and values are expanded per head from the latent in training
  }
  return x;
}

}  // namespace foresight::sim
