#include "sim/training/memory_model.hpp"

#include <algorithm>

#include "core/dtype.hpp"
#include "sim/model/device_reserve.hpp"
#include "sim/training/model_math.hpp"
#include "sim/training/training_graph.hpp"

namespace foresight::sim {

namespace {

// The full activation set of one layer and microbatch, i.e. what no recomputation stores.
// Korthikanti et al. 2022 (arXiv:2205.05198) sec. 4.1 for GPT (MHA, 4h GELU MLP, dropout):
// 34*s*b*h + 5*a*s^2*b bytes, of which 10*s*b*h (norm inputs, QKV/MLP inputs, dropout masks) is
// replicated across TP ranks unless sequence parallelism shards it.
struct LayerActs {
  double replicated = 0, sharded = 0, scores = 0;
};

LayerActs layer_acts(const TrainingSpec& s) {
  const auto& m = s.model;
  const double t = s.par.tp;
  const double sl = double(s.sequence_length) / s.par.cp;
  const double sb = sl * s.micro_batch, h = m.hidden, d = head_dim(m);
  const double hq = m.heads / t, hkv = std::max(1.0, m.kv_heads / t), f = m.ffn_hidden / t;
  const double fc1 = (m.activation == "swiglu" ? 2.0 : 1.0) * f;
  const bool dropout = has_biases(m);
  LayerActs a;
  // 2 norm inputs (2 B each), QKV input, MLP input; two 1-byte dropout masks.
  a.replicated = sb * h * (4 + 2 + 2 + (dropout ? 2 : 0));
  // Q, K, V; attention output (projection input); fc1 output; activation output.
  a.sharded = 2 * sb * (hq * d + 2 * hkv * d) + 2 * sb * hq * d + 2 * sb * fc1 + 2 * sb * f;
  if (m.mla.kv_lora_rank > 0) {
    // Latent attention: the q and kv latents (replicated), then per-head Q and K of d_qk, V of d_v.
    const auto& l = m.mla;
    const double dqk = l.qk_nope_head_dim + l.qk_rope_head_dim;
    a.replicated += 2 * sb * (l.q_lora_rank + l.kv_lora_rank + l.qk_rope_head_dim);
    a.sharded += 2 * sb * (2 * hq * dqk + hq * l.v_head_dim) + 2 * sb * hq * l.v_head_dim -
                 (2 * sb * (hq * d + 2 * hkv * d) + 2 * sb * hq * d);
  }
  if (m.is_moe()) {
    // An MoE layer (the first dense layers are few: the MoE figure is used for all): the dense MLP
    // terms give way to the shared experts' and, per routed token (tokens x top_k on average), the
    // dispatched input, expert fc1 and activation outputs, plus the permuted copies and fp32 router
    // scores of the rank's own tokens.
    const auto& e = m.moe;
    const bool sp = s.par.sequence_parallel && t > 1;
    // Expert TP gathers etp ranks' routed tokens, each expert's intermediates split etp ways.
    const double own = sp ? sb / t : sb, routed = own * e.top_k * s.par.etp;
    const double fs = double(e.shared_experts) * e.expert_ffn_hidden / t, fe = double(e.expert_ffn_hidden) / s.par.etp;
    const double gate = m.activation == "swiglu" ? 2.0 : 1.0;
    a.sharded += 2 * sb * gate * fs + 2 * sb * fs - (2 * sb * fc1 + 2 * sb * f);
    a.sharded += routed * (2 * h + 2 * gate * fe + 2 * fe) + routed * 2 * h + own * 4.0 * e.experts;
  }
  if (s.attention_kernel == "unfused")
    // softmax output 2 B, and with dropout its 1-byte mask and 2-byte output: 5*a*s^2*b / t.
    a.scores = (dropout ? 5.0 : 2.0) * hq * sl * double(s.sequence_length) * s.micro_batch;
  return a;
}

}  // namespace

double layer_activation_bytes(const TrainingSpec& s) {
  const LayerActs a = layer_acts(s);
  const bool sp = s.par.sequence_parallel && s.par.tp > 1;
  const double replicated = sp ? a.replicated / s.par.tp : a.replicated;
  const double input = 2.0 * s.micro_batch * double(s.sequence_length) / s.par.cp * s.model.hidden / (sp ? s.par.tp : 1);
  if (s.recompute == "full") return input;
  if (s.recompute == "selective") return replicated + a.sharded;  // core attention is recomputed
  return replicated + a.sharded + a.scores;
}

MemoryBreakdown estimate_memory(const TrainingSpec& s, const std::vector<std::vector<PipeStep>>& schedule,
                                double capacity) {
  const int pp = s.par.pp, chunks = s.chunks(), dp = s.par.dp;
  std::vector<std::vector<int>> layers(pp, std::vector<int>(chunks));
  for (int st = 0; st < pp; ++st)
    for (int c = 0; c < chunks; ++c) {
      const int v = s.vstage_of(c, st);
      // Multi-token-prediction layers hold activations like the stage's own.
      layers[st][c] = s.layers_in_virtual_stage(v) + (v == s.virtual_stages() - 1 ? s.model.mtp_modules : 0);
    }
  const std::vector<double> inflight = peak_inflight_layers(schedule, layers);
  const double per_layer = layer_activation_bytes(s);
  // Full recompute re-materialises one layer at a time: its complete activations are live during
  // that layer's backward on top of the stored layer inputs.
  TrainingSpec no_recompute = s;
  no_recompute.recompute = "none";
  const double working = s.recompute == "full" ? layer_activation_bytes(no_recompute) : 0.0;
  const double grad_bytes = dtype_size(s.grad_dtype());
  MemoryBreakdown best;
  for (int st = 0; st < pp; ++st) {
    MemoryBreakdown mb;
    mb.stage = st;
    const double P = stage_params_per_gpu(s, st);
    // Routed experts are replicated over expert DP (tp*cp*dp/ep ranks), which ZeRO shards them over.
    const double X = stage_expert_params_per_gpu(s, st);
    const double edp = s.par.expert_dp();
    mb.weights = 2.0 * P / (s.zero >= 3 ? dp : 1) + 2.0 * X;
    mb.grads = grad_bytes * (P / (s.zero >= 2 ? dp : 1) + X / (s.zero >= 2 ? edp : 1));
    mb.optimizer = 12.0 * (P / (s.zero >= 1 ? dp : 1) + X / (s.zero >= 1 ? edp : 1));   // fp32 master weights, Adam m and v
    mb.activations = inflight[st] * per_layer + working;
    // Logits and their fp32 softmax on the last stage; a gradient bucket in flight; ZeRO-3 holds
    // the gathered current and prefetched layer.
    const bool last = st == pp - 1;
    const double tokens = double(s.micro_batch) * s.sequence_length / s.par.cp;
    mb.buffers = (last ? tokens * (double(s.model.vocab) / s.par.tp) * (2.0 + 4.0) : 0.0) +
                 (dp > 1 ? s.dp_bucket_bytes : 0.0) +
                 (s.zero >= 3 ? 2.0 * 2.0 * count_params(s.model).per_layer / s.par.tp : 0.0);
    mb.peak = mb.weights + mb.grads + mb.optimizer + mb.activations + mb.buffers;
    if (st == 0 || mb.peak > best.peak) best = mb;
  }
  best.capacity = capacity;
  // One NCCL communicator per parallel dimension that has peers (TP, CP, PP's point-to-point, DP).
  int comms = 0;
  for (int n : {s.par.tp, s.par.cp, s.par.pp, s.par.dp, s.par.ep, s.par.etp}) comms += n > 1 ? 1 : 0;
  best.reserved = device_reserve_bytes(comms);
  best.oom = capacity > 0 && best.peak + best.reserved > capacity;
  return best;
}

}  // namespace foresight::sim
