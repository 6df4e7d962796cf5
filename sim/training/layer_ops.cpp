#include "sim/training/layer_ops.hpp"

#include <algorithm>

#include "sim/training/model_math.hpp"

namespace foresight::sim {

std::string gemm_dtype(const TrainingSpec& s) { return s.precision; }
std::string act_dtype(const TrainingSpec& s) { return s.precision == "fp16" ? "fp16" : "bf16"; }

namespace {

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
    w.gemm.dtype = gemm_dtype(s_);
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
};

Shape shape_of(const TrainingSpec& s) {
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
  return x;
}

hw::AttentionQuery attn_query(const Shape& x, double seq_q, double seq_kv, bool causal, bool backward) {
  hw::AttentionQuery q;
  q.batch = int64_t(x.b);
  q.seq_q = int64_t(seq_q);
  q.seq_kv = int64_t(seq_kv);
  q.heads = int64_t(x.hq);
  q.kv_heads = int64_t(x.hkv);
  q.head_dim = int64_t(x.d);
  q.causal = causal;
  q.backward = backward;
  return q;
}

// Core attention forward. Flash: with context parallelism the diagonal (local) block runs while K/V
// of the other cp-1 chunks arrive; the remote part is the non-causal remainder of this rank's
// causal share. Unfused (Megatron 2021): full s x s scores, fused scale-mask-softmax and dropout.
void core_attention_fwd(Builder& B, const TrainingSpec& s, const Shape& x) {
  const int cp = s.par.cp;
  const double kv_bytes = 2.0 * x.b * x.s_full * x.hkv * x.d * kActBytes;  // gathered K and V
  if (s.attention_kernel == "flash") {
    const int kv = B.comm("cp_kv_all_gather", ParallelDim::cp, CollectiveOp::all_gather, kv_bytes, true);
    B.attention("attention_fwd", attn_query(x, x.s_local, x.s_local, true, false));
    if (cp > 1) {
      B.wait(kv);
      B.attention("attention_fwd_remote", attn_query(x, x.s_local, x.s_full * (cp - 1) / (2.0 * cp), false, false));
    }
    return;
  }
  B.comm("cp_kv_all_gather", ParallelDim::cp, CollectiveOp::all_gather, kv_bytes);
  const double scores = x.b * x.hq * x.s_local * x.s_full;
  B.gemm("attn_qk", x.s_local, x.s_full, x.d, x.b * x.hq);
  B.memory("scale_mask_softmax", 2 * scores * kActBytes, 5 * scores);
  if (x.dropout) B.memory("attn_dropout", scores * (2 * kActBytes + 1), scores);
  B.gemm("attn_pv", x.s_local, x.d, x.s_full, x.b * x.hq);
}

void core_attention_bwd(Builder& B, const TrainingSpec& s, const Shape& x) {
  const int cp = s.par.cp;
  const double kv_bytes = 2.0 * x.b * x.s_full * x.hkv * x.d * kActBytes;
  if (s.attention_kernel == "flash") {
    // Ring attention re-sends K/V in backward and returns the dK/dV partial sums to their owners.
    const int kv = B.comm("cp_kv_all_gather", ParallelDim::cp, CollectiveOp::all_gather, kv_bytes, true);
    B.attention("attention_bwd", attn_query(x, x.s_local, x.s_local, true, true));
    if (cp > 1) {
      B.wait(kv);
      B.attention("attention_bwd_remote", attn_query(x, x.s_local, x.s_full * (cp - 1) / (2.0 * cp), false, true));
    }
    B.comm("cp_dkv_reduce_scatter", ParallelDim::cp, CollectiveOp::reduce_scatter, kv_bytes);
    return;
  }
  const double scores = x.b * x.hq * x.s_local * x.s_full;
  if (s.recompute == "selective") {
    // Korthikanti et al. 2022 selective recomputation: the core attention is recomputed.
    Builder R(s, "recompute");
    R.gemm("attn_qk", x.s_local, x.s_full, x.d, x.b * x.hq);
    R.memory("scale_mask_softmax", 2 * scores * kActBytes, 5 * scores);
    if (x.dropout) R.memory("attn_dropout", scores * (2 * kActBytes + 1), scores);
    B.append(R.take(), "recompute");
  }
  B.gemm("attn_pv_dgrad_p", x.s_local, x.s_full, x.d, x.b * x.hq);
  B.gemm("attn_pv_dgrad_v", x.s_full, x.d, x.s_local, x.b * x.hq);
  if (x.dropout) B.memory("attn_dropout_bwd", scores * (2 * kActBytes + 1), scores);
  B.memory("softmax_bwd", 3 * scores * kActBytes, 4 * scores);
  B.gemm("attn_qk_dgrad_q", x.s_local, x.d, x.s_full, x.b * x.hq);
  B.gemm("attn_qk_dgrad_k", x.s_full, x.d, x.s_local, x.b * x.hq);
  B.comm("cp_dkv_reduce_scatter", ParallelDim::cp, CollectiveOp::reduce_scatter, kv_bytes);
}

// Column-parallel input: with sequence parallelism the norm output is all-gathered over TP.
void tp_gather_input(Builder& B, const Shape& x, const char* name) {
  if (x.sp) B.comm(name, ParallelDim::tp, CollectiveOp::all_gather, x.n * x.h * kActBytes);
}
// Row-parallel output: all-reduce, or reduce-scatter back to sequence shards.
void tp_reduce_output(Builder& B, const Shape& x, const char* name) {
  B.comm(name, ParallelDim::tp, x.sp ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce, x.n * x.h * kActBytes);
}

// overlap.tp_comm: the GEMM next to a TP collective runs in tp row blocks pipelined with the
// collective's matching chunks (Transformer Engine's userbuffer overlap), so only the first chunk
// (all-gather) or the last one (reduce-scatter / all-reduce) stays exposed.
int overlap_chunks(const TrainingSpec& s, const Shape& x) {
  const int tp = s.par.tp;
  return (s.overlap_tp_comm && tp > 1 && int64_t(x.n) % tp == 0) ? tp : 1;
}

void gathered_gemm(Builder& B, const TrainingSpec& s, const Shape& x, const char* comm_name, const std::string& name,
                   double out) {
  const int c = overlap_chunks(s, x);
  if (!x.sp || c == 1) {
    tp_gather_input(B, x, comm_name);
    B.gemm(name, x.n, out, x.h);
    return;
  }
  std::vector<int> chunks;
  for (int i = 0; i < c; ++i)
    chunks.push_back(B.comm(comm_name, ParallelDim::tp, CollectiveOp::all_gather, x.n * x.h * kActBytes / c, true));
  for (int i = 0; i < c; ++i) {
    B.wait(chunks[i]);
    B.gemm(name, x.n / c, out, x.h);
  }
}

void gemm_reduced(Builder& B, const TrainingSpec& s, const Shape& x, const std::string& name, double in,
                  const char* comm_name) {
  const int c = overlap_chunks(s, x);
  if (c == 1) {
    B.gemm(name, x.n, x.h, in);
    tp_reduce_output(B, x, comm_name);
    return;
  }
  std::vector<int> chunks;
  for (int i = 0; i < c; ++i) {
    B.gemm(name, x.n / c, x.h, in);
    chunks.push_back(B.comm(comm_name, ParallelDim::tp, x.sp ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce,
                            x.n * x.h * kActBytes / c, true));
  }
  for (int id : chunks) B.wait(id);
}

WorkTemplate layer_forward(const TrainingSpec& s, const Shape& x, const std::string& category) {
  Builder B(s, category);
  const bool rope = s.model.norm == "rmsnorm";  // Llama-family models use rotary embeddings
  const double e = kActBytes, nh = x.n_sp * x.h;
  B.memory("norm1", 2 * nh * e, 5 * nh);
  gathered_gemm(B, s, x, "tp_all_gather_attn_in", "qkv", (x.hq + 2 * x.hkv) * x.d);
  if (rope) B.memory("rope", 2 * x.n * (x.hq + x.hkv) * x.d * e, 3 * x.n * (x.hq + x.hkv) * x.d);
  core_attention_fwd(B, s, x);
  gemm_reduced(B, s, x, "attn_proj", x.hq * x.d, x.sp ? "tp_reduce_scatter_attn_out" : "tp_all_reduce_attn_out");
  B.memory(x.dropout ? "bias_dropout_add" : "residual_add", nh * (3 * e + (x.dropout ? 1 : 0)), 2 * nh);
  B.memory("norm2", 2 * nh * e, 5 * nh);
  gathered_gemm(B, s, x, "tp_all_gather_mlp_in", "fc1", x.fc1);
  B.memory(x.glu ? "swiglu" : "bias_gelu", x.n * x.ffn * e * (x.glu ? 3 : 2), 8 * x.n * x.ffn);
  gemm_reduced(B, s, x, "fc2", x.ffn, x.sp ? "tp_reduce_scatter_mlp_out" : "tp_all_reduce_mlp_out");
  B.memory(x.dropout ? "bias_dropout_add" : "residual_add", nh * (3 * e + (x.dropout ? 1 : 0)), 2 * nh);
  return B.take();
}

// Backward of a column-parallel GEMM (input [n,h] -> [n,out]): the input-gradient collective runs
// while the weight-gradient GEMM computes (Megatron's async grad all-reduce); with sequence
// parallelism the input is re-gathered for the weight gradient, overlapped with the data gradient.
void column_parallel_bwd(Builder& B, const Shape& x, const std::string& name, double out) {
  int regather = -1;
  if (x.sp) regather = B.comm("tp_all_gather_" + name + "_input", ParallelDim::tp, CollectiveOp::all_gather, x.n * x.h * kActBytes, true);
  B.gemm(name + "_dgrad", x.n, x.h, out);
  const int red = B.comm(std::string(x.sp ? "tp_reduce_scatter_" : "tp_all_reduce_") + name + "_dgrad", ParallelDim::tp,
                         x.sp ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce, x.n * x.h * kActBytes, true);
  B.wait(regather);
  B.gemm(name + "_wgrad", x.h, out, x.n);
  B.wait(red);
}

// Backward of a row-parallel GEMM ([n,in] -> [n,h]): with sequence parallelism the output gradient
// is all-gathered first (the transpose of the forward reduce-scatter).
void row_parallel_bwd(Builder& B, const Shape& x, const std::string& name, double in) {
  if (x.sp) B.comm("tp_all_gather_" + name + "_grad", ParallelDim::tp, CollectiveOp::all_gather, x.n * x.h * kActBytes);
  B.gemm(name + "_dgrad", x.n, in, x.h);
  B.gemm(name + "_wgrad", in, x.h, x.n);
}

WorkTemplate layer_backward(const TrainingSpec& s, const Shape& x) {
  Builder B(s, "compute");
  if (s.recompute == "full") B.append(layer_forward(s, x, "recompute"), "recompute");
  const bool rope = s.model.norm == "rmsnorm";
  const double e = kActBytes, nh = x.n_sp * x.h;
  B.memory("residual_add_bwd", nh * (2 * e + (x.dropout ? 1 : 0)), nh);
  row_parallel_bwd(B, x, "fc2", x.ffn);
  B.memory(x.glu ? "swiglu_bwd" : "bias_gelu_bwd", x.n * x.ffn * e * (x.glu ? 5 : 3), 12 * x.n * x.ffn);
  column_parallel_bwd(B, x, "fc1", x.fc1);
  B.memory("norm2_bwd", 3 * nh * e, 8 * nh);
  B.memory("residual_add_bwd", nh * (2 * e + (x.dropout ? 1 : 0)), nh);
  row_parallel_bwd(B, x, "attn_proj", x.hq * x.d);
  core_attention_bwd(B, s, x);
  if (rope) B.memory("rope_bwd", 2 * x.n * (x.hq + x.hkv) * x.d * e, 3 * x.n * (x.hq + x.hkv) * x.d);
  column_parallel_bwd(B, x, "qkv", (x.hq + 2 * x.hkv) * x.d);
  B.memory("norm1_bwd", 3 * nh * e, 8 * nh);
  return B.take();
}

}  // namespace

MicrobatchWork build_microbatch_work(const TrainingSpec& s) {
  const Shape x = shape_of(s);
  const double e = kActBytes;
  MicrobatchWork w;
  w.layer_fwd = layer_forward(s, x, "compute");
  w.layer_bwd = layer_backward(s, x);
  {
    // Vocab-parallel embedding: each TP rank looks up its vocab shard, then the partial rows are
    // summed over TP (reduce-scatter to sequence shards with SP).
    Builder B(s, "compute");
    B.memory("embedding", 2 * x.n * x.h * e, 0);
    tp_reduce_output(B, x, x.sp ? "tp_reduce_scatter_embedding" : "tp_all_reduce_embedding");
    w.embed_fwd = B.take();
    Builder G(s, "compute");
    if (x.sp) G.comm("tp_all_gather_embedding_grad", ParallelDim::tp, CollectiveOp::all_gather, x.n * x.h * e);
    G.memory("embedding_bwd", 3 * x.n * x.h * e, x.n * x.h);
    w.embed_bwd = G.take();
  }
  {
    Builder B(s, "compute");
    B.memory("final_norm", 2 * x.n_sp * x.h * e, 5 * x.n_sp * x.h);
    tp_gather_input(B, x, "tp_all_gather_logits_in");
    B.gemm("logits", x.n, x.V, x.h);
    // Vocab-parallel cross entropy: max, sum-exp and target logit are reduced over TP (fp32, per token).
    B.memory("cross_entropy", 2 * x.n * x.V * e, 5 * x.n * x.V);
    B.comm("tp_all_reduce_cross_entropy", ParallelDim::tp, CollectiveOp::all_reduce, 3 * x.n * 4.0);
    w.head_fwd = B.take();
    Builder G(s, "compute");
    G.memory("cross_entropy_bwd", 2 * x.n * x.V * e, 3 * x.n * x.V);
    column_parallel_bwd(G, x, "logits", x.V);
    G.memory("final_norm_bwd", 3 * x.n_sp * x.h * e, 8 * x.n_sp * x.h);
    w.head_bwd = G.take();
  }
  return w;
}

}  // namespace foresight::sim
