#include "sim/serving/iteration_cost.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/dtype.hpp"
#include "sim/model/param_counts.hpp"
#include "sim/moe/routing.hpp"
#include "sim/serving/replica_memory.hpp"

namespace foresight::sim {

namespace {
constexpr double kAct = 2.0;  // 16-bit activations
}

IterationCost::IterationCost(const ServingSpec& spec, const hw::ComputeCostModel& cost, CollectiveModel& collectives,
                             const hw::CalibratedCollectives* measured, std::vector<int> ranks)
    : spec_(spec), cost_(cost), collectives_(collectives), ranks_(std::move(ranks)), measured_(measured) {
  tp_group_.assign(ranks_.begin(), ranks_.begin() + spec.tp);
  if (spec.model.is_moe()) shares_ = expert_shares(spec.routing, spec.model.moe.experts, 0);
}

const IterationCost::PerTokens& IterationCost::per_tokens(int64_t T) {
  if (memo_.size() <= static_cast<size_t>(T)) memo_.resize(static_cast<size_t>(T) + 1);
  PerTokens& p = memo_[static_cast<size_t>(T)];
  if (p.gemm >= 0) return p;
  const auto& m = spec_.model;
  const int64_t tp = spec_.tp, d = static_cast<int64_t>(head_dim(m)), h = m.hidden;
  const int64_t hq = m.heads / tp, hkv = kv_heads_per_gpu(m, spec_.tp);
  const int64_t ffn = m.ffn_hidden / tp;
  const bool swiglu = m.activation == "swiglu";
  auto mem = [&](const char* op, double bytes, double flops) { return cost_.memory_op({op, bytes, flops}).seconds; };
  double attention_gemm = gemm(T, (hq + 2 * hkv) * d, h) + gemm(T, h, hq * d);
  const bool mla = m.mla.kv_lora_rank > 0;
  if (mla) {
    // Latent attention: the q and kv down-projections (every TP rank computes them whole), the
    // head-split q up-projection and output projection; the kv up-projection (prefill) and the
    // absorbed per-head products (decode) depend on the step's mix and are added per step.
    const auto& a = m.mla;
    const int64_t dqk = a.qk_nope_head_dim + a.qk_rope_head_dim;
    attention_gemm = (a.q_lora_rank > 0 ? gemm(T, a.q_lora_rank, h) + gemm(T, hq * dqk, a.q_lora_rank) : gemm(T, hq * dqk, h)) +
                     gemm(T, a.kv_lora_rank + a.qk_rope_head_dim, h) + gemm(T, h, hq * a.v_head_dim);
  }
  p.gemm = attention_gemm + gemm(T, (swiglu ? 2 : 1) * ffn, h) + gemm(T, h, ffn);
  const double t = double(T);
  const double attention_memory = 2 * mem("rmsnorm", 2 * t * h * kAct, 4 * t * h) +                   // two norms
                                  (mla ? mem("rope", 2 * t * (hq + 1) * m.mla.qk_rope_head_dim * kAct, 6 * t * (hq + 1) * m.mla.qk_rope_head_dim) +
                                             mem("kv_write", t * mla_cache_width(m) * dtype_size(spec_.kv_dtype), 0)
                                       : mem("rope", 2 * t * (hq + hkv) * d * kAct, 6 * t * (hq + hkv) * d) +   // rotary on q and k
                                             mem("kv_write", t * 2 * hkv * d * dtype_size(spec_.kv_dtype), 0)) +   // new keys and values
                                  2 * mem("add", 3 * t * h * kAct, t * h);                                // residual adds
  p.memory = attention_memory + mem(swiglu ? "swiglu" : "gelu", t * (swiglu ? 3 : 2) * ffn * kAct, 8 * t * ffn);
  if (m.is_moe()) {
    // Router (16 bit, every GPU), shared experts (tensor-parallel like a dense MLP), routed experts.
    const auto& mo = m.moe;
    const int64_t fs = int64_t(mo.shared_experts) * mo.expert_ffn_hidden / tp, gate = swiglu ? 2 : 1;
    hw::GemmQuery router;
    router.m = T, router.n = mo.experts, router.k = h, router.dtype = spec_.precision == "fp16" ? "fp16" : "bf16";
    const auto [routed_gemm, routed_memory] = routed_experts(T);
    p.moe_gemm = attention_gemm + cost_.gemm(router).seconds + routed_gemm;
    p.moe_memory = attention_memory + mem("router_topk", t * mo.experts * 4.0 * 2, 5 * t * mo.experts) + routed_memory;
    if (fs > 0) {
      p.moe_gemm += gemm(T, gate * fs, h) + gemm(T, h, fs);
      p.moe_memory += mem(swiglu ? "swiglu" : "gelu", t * (swiglu ? 3 : 2) * fs * kAct, 8 * t * fs);
    }
  }
  if (tp > 1) {
    // Two all-reduces of the residual stream per layer (after attention and after the MLP).
    const CollectiveRequest ar{CollectiveOp::all_reduce, t * h * kAct, tp_group_};
    // vLLM, SGLang and TensorRT-LLM run small all-reduces inside one NVLink domain with their own
    // custom (one-shot/two-shot) kernels, not NCCL (vLLM: CustomAllreduce up to 8 MiB by default);
    // the profile measured those kernels up to the size the engine uses them for.
    std::optional<hw::Estimate> custom;
    if (measured_ && collectives_.cluster().node_of(tp_group_.front()) == collectives_.cluster().node_of(tp_group_.back()))
      custom = measured_->time("all_reduce", spec_.tp, ar.bytes, "custom");
    p.communication = 2 * (custom && !custom->extrapolated ? custom->seconds : collectives_.estimate(ar).time_s);
  }
  return p;
}

double IterationCost::gemm(int64_t m, int64_t n, int64_t k) const {
  if (m <= 0) return 0.0;
  hw::GemmQuery q;
  q.m = m, q.n = n, q.k = k, q.dtype = spec_.precision == "fp16" ? "fp16" : spec_.precision;
  return cost_.gemm(q).seconds;
}

std::pair<double, double> IterationCost::routed_experts(int64_t T) const {
  const auto& m = spec_.model;
  const auto& mo = m.moe;
  const bool swiglu = m.activation == "swiglu";
  const double t = double(T);
  // A measured MoE layer of this shape and split (AIConfigurator's balanced-routing tables: the
  // whole fused block, permutation and activation included) answers first when routing is uniform.
  if (std::all_of(shares_.begin(), shares_.end(), [&](double x) { return x == shares_.front(); })) {
    hw::RoutedExpertsQuery rq;
    rq.tokens = T, rq.hidden = m.hidden, rq.inter = mo.expert_ffn_hidden, rq.top_k = mo.top_k, rq.experts = mo.experts;
    rq.moe_tp = spec_.moe_tp(), rq.moe_ep = spec_.ep, rq.dtype = spec_.precision;
    if (auto measured = cost_.routed_experts(rq)) return {measured->seconds, 0.0};
  }
  // Otherwise the busiest GPU's experts as one grouped GEMM: expert e is reached by a token with
  // probability q_e = top_k x share_e, so by at least one of the T tokens with 1 - (1 - q_e)^T. The
  // reached experts run as one kernel (grouped GEMMs launch once): priced as one GEMM of their mean
  // token count against their weights side by side (n x experts), the same FLOPs and weight bytes.
  const int per_gpu = mo.experts / spec_.ep;
  double tokens = 0, reached = 0;
  for (int g = 0; g < spec_.ep; ++g) {
    double gt = 0, gr = 0;
    for (int e = g * per_gpu; e < (g + 1) * per_gpu; ++e) {
      const double q = std::min(1.0, mo.top_k * shares_[size_t(e)]);
      gt += t * q;
      gr += 1.0 - std::pow(1.0 - q, t);
    }
    if (gt > tokens) tokens = gt, reached = gr;
  }
  if (tokens <= 0) return {0.0, 0.0};
  const int64_t fe = mo.expert_ffn_hidden / spec_.moe_tp(), gate = swiglu ? 2 : 1;
  const int64_t batch = std::max<int64_t>(1, std::llround(reached));
  const int64_t per_expert = std::max<int64_t>(1, std::llround(tokens / double(batch)));
  const double gemm_s = gemm(per_expert, gate * fe * batch, m.hidden) + gemm(per_expert, m.hidden * batch, fe);
  const double memory_s =
      cost_.memory_op({swiglu ? "swiglu" : "gelu", tokens * (swiglu ? 3 : 2) * fe * kAct, 8 * tokens * fe}).seconds +
      cost_.memory_op({"moe_permute", 2 * t * mo.top_k * m.hidden * kAct, 0}).seconds;
  return {gemm_s, memory_s};
}

double IterationCost::head(int64_t S) {
  if (head_memo_.size() <= static_cast<size_t>(S)) head_memo_.resize(static_cast<size_t>(S) + 1, -1);
  double& v = head_memo_[static_cast<size_t>(S)];
  if (v >= 0) return v;
  const auto& m = spec_.model;
  const int64_t tp = spec_.tp, vocab = m.vocab / tp + (m.vocab % tp ? 1 : 0);
  hw::GemmQuery q;
  q.m = std::max<int64_t>(S, 1), q.n = vocab, q.k = m.hidden;
  q.dtype = spec_.precision == "fp16" ? "fp16" : "bf16";  // the LM head stays in 16 bit
  v = S > 0 ? cost_.gemm(q).seconds : 0.0;
  const double s = double(S);
  v += cost_.memory_op({"rmsnorm", 2 * s * m.hidden * kAct, 4 * s * m.hidden}).seconds;
  v += cost_.memory_op({"sampling", s * m.vocab * 4.0, 5 * s * m.vocab}).seconds;  // fp32 softmax and draw
  if (tp > 1 && S > 0) {
    const CollectiveRequest gather{CollectiveOp::all_gather, s * m.vocab * kAct, tp_group_};
    v += collectives_.estimate(gather).time_s;
  }
  return v;
}

StepCost IterationCost::step(const StepShape& shape) {
  StepCost c;
  const auto& m = spec_.model;
  const PerTokens& p = per_tokens(shape.tokens);
  const double L = m.layers;  // every layer runs once per step, on whichever stage holds it
  const double moe_layers = m.is_moe() ? m.layers - m.moe.first_dense_layers : 0.0;
  c.gemm = (L - moe_layers) * p.gemm + moe_layers * p.moe_gemm;
  c.memory = (L - moe_layers) * p.memory + moe_layers * p.moe_memory +
             cost_.memory_op({"embedding", 2.0 * shape.tokens * m.hidden * kAct, 0}).seconds;
  c.communication = L * p.communication;
  const int64_t tp = spec_.tp, d = static_cast<int64_t>(head_dim(m));
  const int64_t hq = m.heads / tp, hkv = kv_heads_per_gpu(m, spec_.tp);
  const bool mla = m.mla.kv_lora_rank > 0;
  // Latent attention, per step: prefill expands keys and values per head from the latents of its
  // chunk and context (kv up-projection) and attends at the mean of the QK and V head dims (exact
  // FLOPs); decode absorbs the up-projections into the query and output (two per-head batched
  // GEMMs) and attends MQA-style over the cached latent (one shared KV head of kv_lora + rope,
  // priced by the bytes it reads: head_dim = width/2 with K and V counted, FLOPs about half).
  int64_t prefill_d = d, prefill_kv = hkv, decode_kv = hkv, decode_d = d;
  if (mla) {
    const auto& a = m.mla;
    prefill_d = static_cast<int64_t>(attention_head_dim(m)), prefill_kv = hq;
    decode_kv = 1, decode_d = static_cast<int64_t>(mla_cache_width(m) / 2);
    int64_t expanded = 0;
    for (const auto& [chunk, before] : shape.prefills) expanded += chunk + before;
    // A per-head batched GEMM runs as one kernel: priced as one GEMM with the heads' weights side
    // by side (n x heads: the same FLOPs and weight bytes), not as `heads` launches.
    const int64_t decodes = int64_t(shape.decode_context.size());
    c.gemm += L * (gemm(expanded, hq * (a.qk_nope_head_dim + a.v_head_dim), a.kv_lora_rank) +
                   gemm(decodes, a.kv_lora_rank * hq, a.qk_nope_head_dim) + gemm(decodes, a.v_head_dim * hq, a.kv_lora_rank));
  }
  double attention = 0;
  for (const auto& [chunk, before] : shape.prefills) {
    hw::AttentionQuery a;
    a.batch = 1, a.seq_q = chunk, a.seq_kv = before + chunk, a.heads = hq, a.kv_heads = prefill_kv, a.head_dim = prefill_d;
    a.causal = true;
    a.dtype = "bf16";
    attention += cost_.attention(a).seconds;
  }
  if (!shape.decode_context.empty()) {
    hw::DecodeAttentionQuery q;
    q.heads = hq, q.kv_heads = decode_kv, q.head_dim = decode_d;
    q.context = shape.decode_context.data();
    q.sequences = shape.decode_context.size();
    q.dtype = "bf16";
    q.kv_dtype = spec_.kv_dtype;
    attention += cost_.decode_attention(q).seconds;
  }
  c.attention = L * attention;
  const double head_time = head(shape.sampled);
  c.gemm += head_time;  // LM head and logits (reported with the GEMMs)
  if (spec_.pp > 1) {
    // Activations cross each stage boundary once per step (vLLM runs the stages one after another
    // for a batch; its virtual engines that overlap batches are not modelled).
    const CollectiveRequest send{CollectiveOp::send_recv, double(shape.tokens) * m.hidden * kAct,
                                 {ranks_[0], ranks_[static_cast<size_t>(spec_.tp)]}};
    c.communication += (spec_.pp - 1) * collectives_.estimate(send).time_s;
  }
  c.overhead = spec_.scheduler.iteration_overhead_s;
  return c;
}

}  // namespace foresight::sim
