#include "sim/training/layer_ops.hpp"

#include <algorithm>

#include "sim/training/model_math.hpp"
#include "sim/training/moe_ops.hpp"
#include "sim/training/work_builder.hpp"

namespace foresight::sim {

std::string gemm_dtype(const TrainingSpec& s) { return s.precision; }
std::string act_dtype(const TrainingSpec& s) { return s.precision == "fp16" ? "fp16" : "bf16"; }

namespace {

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

// Latent attention (DeepSeek-V2/V3, as Megatron-core trains it): the down projections to the query
// and key-value latents are replicated over TP, their up projections are column-parallel; keys and
// values are expanded per head, so core attention runs with d_qk for QK^T and d_v for PV.
void mla_projections_fwd(Builder& B, const Shape& x) {
  const double e = kActBytes;
  tp_gather_input(B, x, "tp_all_gather_attn_in");
  if (x.q_lora > 0) {
    B.gemm("q_down", x.n, x.q_lora, x.h);
    B.memory("q_norm", 2 * x.n * x.q_lora * e, 5 * x.n * x.q_lora);
    B.gemm("q_up", x.n, x.hq * x.d_qk, x.q_lora);
  } else {
    B.gemm("q_proj", x.n, x.hq * x.d_qk, x.h);
  }
  B.gemm("kv_down", x.n, x.kv_lora + x.d_rope, x.h);
  B.memory("kv_norm", 2 * x.n * x.kv_lora * e, 5 * x.n * x.kv_lora);
  B.gemm("kv_up", x.n, x.hq * (x.d_qk - x.d_rope + x.d_v), x.kv_lora);
  B.memory("rope", 2 * x.n * (x.hq + 1) * x.d_rope * e, 3 * x.n * (x.hq + 1) * x.d_rope);
}

void mla_projections_bwd(Builder& B, const Shape& x) {
  const double e = kActBytes;
  B.memory("rope_bwd", 2 * x.n * (x.hq + 1) * x.d_rope * e, 3 * x.n * (x.hq + 1) * x.d_rope);
  const double kv_up_out = x.hq * (x.d_qk - x.d_rope + x.d_v);
  B.gemm("kv_up_dgrad", x.n, x.kv_lora, kv_up_out);
  B.gemm("kv_up_wgrad", x.kv_lora, kv_up_out, x.n);
  B.memory("kv_norm_bwd", 3 * x.n * x.kv_lora * e, 8 * x.n * x.kv_lora);
  B.gemm("kv_down_dgrad", x.n, x.h, x.kv_lora + x.d_rope);
  B.gemm("kv_down_wgrad", x.h, x.kv_lora + x.d_rope, x.n);
  if (x.q_lora > 0) {
    B.gemm("q_up_dgrad", x.n, x.q_lora, x.hq * x.d_qk);
    B.gemm("q_up_wgrad", x.q_lora, x.hq * x.d_qk, x.n);
    B.memory("q_norm_bwd", 3 * x.n * x.q_lora * e, 8 * x.n * x.q_lora);
    B.gemm("q_down_dgrad", x.n, x.h, x.q_lora);
    B.gemm("q_down_wgrad", x.h, x.q_lora, x.n);
  } else {
    B.gemm("q_proj_dgrad", x.n, x.h, x.hq * x.d_qk);
    B.gemm("q_proj_wgrad", x.h, x.hq * x.d_qk, x.n);
  }
  // The head-sharded up projections leave partial input gradients on each TP rank.
  B.comm(x.sp ? "tp_reduce_scatter_attn_in_dgrad" : "tp_all_reduce_attn_in_dgrad", ParallelDim::tp,
         x.sp ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce, x.n * x.h * kActBytes);
}

WorkTemplate layer_forward(const TrainingSpec& s, const Shape& x, const std::string& category, bool moe) {
  Builder B(s, category);
  const bool rope = s.model.norm == "rmsnorm";  // Llama-family models use rotary embeddings
  const double e = kActBytes, nh = x.n_sp * x.h;
  B.memory("norm1", 2 * nh * e, 5 * nh);
  if (x.mla) {
    mla_projections_fwd(B, x);
  } else {
    gathered_gemm(B, s, x, "tp_all_gather_attn_in", "qkv", (x.hq + 2 * x.hkv) * x.d);
    if (rope) B.memory("rope", 2 * x.n * (x.hq + x.hkv) * x.d * e, 3 * x.n * (x.hq + x.hkv) * x.d);
  }
  core_attention_fwd(B, s, x);
  gemm_reduced(B, s, x, "attn_proj", x.hq * (x.mla ? x.d_v : x.d),
               x.sp ? "tp_reduce_scatter_attn_out" : "tp_all_reduce_attn_out");
  B.memory(x.dropout ? "bias_dropout_add" : "residual_add", nh * (3 * e + (x.dropout ? 1 : 0)), 2 * nh);
  B.memory("norm2", 2 * nh * e, 5 * nh);
  if (moe) {
    moe_ffn_forward(B, s, x);
  } else {
    gathered_gemm(B, s, x, "tp_all_gather_mlp_in", "fc1", x.fc1);
    B.memory(x.glu ? "swiglu" : "bias_gelu", x.n * x.ffn * e * (x.glu ? 3 : 2), 8 * x.n * x.ffn);
    gemm_reduced(B, s, x, "fc2", x.ffn, x.sp ? "tp_reduce_scatter_mlp_out" : "tp_all_reduce_mlp_out");
  }
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

WorkTemplate layer_backward(const TrainingSpec& s, const Shape& x, bool moe) {
  Builder B(s, "compute");
  if (s.recompute == "full") B.append(layer_forward(s, x, "recompute", moe), "recompute");
  const bool rope = s.model.norm == "rmsnorm";
  const double e = kActBytes, nh = x.n_sp * x.h;
  B.memory("residual_add_bwd", nh * (2 * e + (x.dropout ? 1 : 0)), nh);
  if (moe) {
    moe_ffn_backward(B, s, x);
  } else {
    row_parallel_bwd(B, x, "fc2", x.ffn);
    B.memory(x.glu ? "swiglu_bwd" : "bias_gelu_bwd", x.n * x.ffn * e * (x.glu ? 5 : 3), 12 * x.n * x.ffn);
    column_parallel_bwd(B, x, "fc1", x.fc1);
  }
  B.memory("norm2_bwd", 3 * nh * e, 8 * nh);
  B.memory("residual_add_bwd", nh * (2 * e + (x.dropout ? 1 : 0)), nh);
  row_parallel_bwd(B, x, "attn_proj", x.hq * (x.mla ? x.d_v : x.d));
  core_attention_bwd(B, s, x);
  if (x.mla) {
    mla_projections_bwd(B, x);
  } else {
    if (rope) B.memory("rope_bwd", 2 * x.n * (x.hq + x.hkv) * x.d * e, 3 * x.n * (x.hq + x.hkv) * x.d);
    column_parallel_bwd(B, x, "qkv", (x.hq + 2 * x.hkv) * x.d);
  }
  B.memory("norm1_bwd", 3 * nh * e, 8 * nh);
  return B.take();
}

}  // namespace

MicrobatchWork build_microbatch_work(const TrainingSpec& s) {
  const Shape x = shape_of(s);
  const double e = kActBytes;
  MicrobatchWork w;
  w.layer_fwd = layer_forward(s, x, "compute", false);
  w.layer_bwd = layer_backward(s, x, false);
  if (s.model.is_moe()) {
    w.moe_layer_fwd = layer_forward(s, x, "compute", true);
    w.moe_layer_bwd = layer_backward(s, x, true);
  }
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
  if (s.model.mtp_modules > 0) {
    // DeepSeek-V3 sec. 2.2: RMSNorm of the previous depth's hidden state and of the next token's
    // embedding, concatenated and projected back to h (split over TP like a column-parallel GEMM;
    // the sequence-parallel gathers around it are not modelled).
    Builder B(s, "compute");
    B.memory("mtp_norms", 2 * 2 * x.n_sp * x.h * e, 2 * 5 * x.n_sp * x.h);
    B.gemm("mtp_proj", x.n, x.h / s.par.tp, 2 * x.h);
    w.mtp_in_fwd = B.take();
    Builder G(s, "compute");
    G.gemm("mtp_proj_dgrad", x.n, 2 * x.h, x.h / s.par.tp);
    G.gemm("mtp_proj_wgrad", 2 * x.h, x.h / s.par.tp, x.n);
    G.memory("mtp_norms_bwd", 2 * 3 * x.n_sp * x.h * e, 2 * 8 * x.n_sp * x.h);
    w.mtp_in_bwd = G.take();
  }
  return w;
}

}  // namespace foresight::sim
