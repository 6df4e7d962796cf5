#include "sim/serving/iteration_cost.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/dtype.hpp"
#include "sim/model/param_counts.hpp"
#include "sim/serving/replica_memory.hpp"

namespace foresight::sim {

namespace {
constexpr double kAct = 2.0;  // 16-bit activations
}

IterationCost::IterationCost(const ServingSpec& spec, const hw::ComputeCostModel& cost, CollectiveModel& collectives,
                             const hw::CalibratedCollectives* measured, std::vector<int> ranks)
    : spec_(spec), cost_(cost), collectives_(collectives), ranks_(std::move(ranks)), measured_(measured) {
  tp_group_.assign(ranks_.begin(), ranks_.begin() + spec.tp);
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
  const std::string dt = spec_.precision == "fp16" ? "fp16" : spec_.precision;
  auto gemm = [&](int64_t mm, int64_t n, int64_t k) {
    hw::GemmQuery q;
    q.m = mm, q.n = n, q.k = k, q.dtype = dt;
    return cost_.gemm(q).seconds;
  };
  auto mem = [&](const char* op, double bytes, double flops) { return cost_.memory_op({op, bytes, flops}).seconds; };
  p.gemm = gemm(T, (hq + 2 * hkv) * d, h) + gemm(T, h, hq * d) + gemm(T, (swiglu ? 2 : 1) * ffn, h) + gemm(T, h, ffn);
  const double t = double(T);
  p.memory = 2 * mem("rmsnorm", 2 * t * h * kAct, 4 * t * h) +                     // two norms
             mem("rope", 2 * t * (hq + hkv) * d * kAct, 6 * t * (hq + hkv) * d) +   // rotary on q and k
             mem("kv_write", t * 2 * hkv * d * dtype_size(spec_.kv_dtype), 0) +      // new keys and values
             mem(swiglu ? "swiglu" : "gelu", t * (swiglu ? 3 : 2) * ffn * kAct, 8 * t * ffn) +
             2 * mem("add", 3 * t * h * kAct, t * h);                                // residual adds
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
  c.gemm = L * p.gemm;
  c.memory = L * p.memory + cost_.memory_op({"embedding", 2.0 * shape.tokens * m.hidden * kAct, 0}).seconds;
  c.communication = L * p.communication;
  const int64_t tp = spec_.tp, d = static_cast<int64_t>(head_dim(m));
  const int64_t hq = m.heads / tp, hkv = kv_heads_per_gpu(m, spec_.tp);
  double attention = 0;
  for (const auto& [chunk, before] : shape.prefills) {
    hw::AttentionQuery a;
    a.batch = 1, a.seq_q = chunk, a.seq_kv = before + chunk, a.heads = hq, a.kv_heads = hkv, a.head_dim = d;
    a.causal = true;
    a.dtype = "bf16";
    attention += cost_.attention(a).seconds;
  }
  if (!shape.decode_context.empty()) {
    hw::DecodeAttentionQuery q;
    q.heads = hq, q.kv_heads = hkv, q.head_dim = d;
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
