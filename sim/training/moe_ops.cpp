#include "sim/training/moe_ops.hpp"

namespace foresight::sim {

double dispatch_token_bytes(const TrainingSpec& s) {
  const double h = s.model.hidden;
  return s.precision == "fp8" && s.moe_dispatcher == "deepep" ? h * (1.0 + 4.0 / 128.0) : h * kActBytes;
}

namespace {

struct MoeShape {
  double n;      // tokens this rank routes: its sequence shard
  double k, E, h, fe, fc1_e, fs, fc1_s;   // fe: per expert-TP rank; shared: TP-sharded
  int etp;
  bool deepep;
};

MoeShape moe_shape(const TrainingSpec& s, const Shape& x) {
  const auto& mo = s.model.moe;
  MoeShape m{};
  m.n = x.n_sp;
  m.k = mo.top_k, m.E = mo.experts, m.h = x.h;
  m.fe = double(mo.expert_ffn_hidden) / s.par.etp;   // each expert's FFN over the expert-TP group
  m.etp = s.par.etp;
  m.fc1_e = (x.glu ? 2.0 : 1.0) * m.fe;
  m.fs = double(mo.shared_experts) * mo.expert_ffn_hidden / s.par.tp;
  m.fc1_s = (x.glu ? 2.0 : 1.0) * m.fs;
  m.deepep = s.moe_dispatcher == "deepep";
  return m;
}

// An EP all-to-all of `token_bytes` per token: DeepEP moves each token once per target (the plan
// applies the fan-out), NCCL's all-to-all one copy per (token, expert) pair.
int ep_all_to_all(Builder& B, const MoeShape& m, const std::string& name, double token_bytes, bool async) {
  const double bytes = m.n * token_bytes * (m.deepep ? 1.0 : m.k);
  const int id = B.comm(name, ParallelDim::ep, CollectiveOp::all_to_all, bytes, async);
  if (id >= 0) B.route_last(WorkItem::Routed::dispatch);
  return id;
}

// Expert tensor parallelism: the tokens an EP rank received are gathered over its expert-TP group
// before the expert GEMMs and the partial outputs reduce-scattered after (Megatron-core's
// all-to-all dispatcher with expert_tensor_parallel_size > 1); their size follows the busiest rank.
void etp_collective(Builder& B, const MoeShape& m, const std::string& name, CollectiveOp op) {
  if (m.etp <= 1) return;
  const int id = B.comm(name, ParallelDim::etp, op, m.n * m.k * m.h * kActBytes * m.etp);
  if (id >= 0) B.route_last(WorkItem::Routed::dispatch);
}

void routed_gemm(Builder& B, const std::string& name, WorkItem::Routed r, double m, double n, double k) {
  B.gemm(name, m, n, k);
  B.route_last(r);
}

void routed_memory(Builder& B, const std::string& name, double bytes_per_token, double flops_per_token) {
  B.memory(name, bytes_per_token, flops_per_token);
  B.route_last(WorkItem::Routed::per_token);
}

// Shared experts: a dense SwiGLU MLP of shared_experts x expert_ffn_hidden, tensor-parallel like
// the dense MLP (all-gather / reduce-scatter with sequence parallelism).
void shared_expert_forward(Builder& B, const Shape& x, const MoeShape& m) {
  if (m.fs <= 0) return;
  const double e = kActBytes;
  if (x.sp) B.comm("tp_all_gather_shared_in", ParallelDim::tp, CollectiveOp::all_gather, x.n * x.h * e);
  B.gemm("shared_fc1", x.n, m.fc1_s, x.h);
  B.memory(x.glu ? "shared_swiglu" : "shared_gelu", x.n * m.fs * e * (x.glu ? 3 : 2), 8 * x.n * m.fs);
  B.gemm("shared_fc2", x.n, x.h, m.fs);
  B.comm(x.sp ? "tp_reduce_scatter_shared_out" : "tp_all_reduce_shared_out", ParallelDim::tp,
         x.sp ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce, x.n * x.h * e);
}

void shared_expert_backward(Builder& B, const Shape& x, const MoeShape& m) {
  if (m.fs <= 0) return;
  const double e = kActBytes;
  if (x.sp) B.comm("tp_all_gather_shared_grad", ParallelDim::tp, CollectiveOp::all_gather, x.n * x.h * e);
  B.gemm("shared_fc2_dgrad", x.n, m.fs, x.h);
  B.gemm("shared_fc2_wgrad", m.fs, x.h, x.n);
  B.memory(x.glu ? "shared_swiglu_bwd" : "shared_gelu_bwd", x.n * m.fs * e * (x.glu ? 5 : 3), 12 * x.n * m.fs);
  B.gemm("shared_fc1_dgrad", x.n, x.h, m.fc1_s);
  const int red = B.comm(x.sp ? "tp_reduce_scatter_shared_dgrad" : "tp_all_reduce_shared_dgrad", ParallelDim::tp,
                         x.sp ? CollectiveOp::reduce_scatter : CollectiveOp::all_reduce, x.n * x.h * e, true);
  B.gemm("shared_fc1_wgrad", x.h, m.fc1_s, x.n);
  B.wait(red);
}

}  // namespace

void moe_ffn_forward(Builder& B, const TrainingSpec& s, const Shape& x) {
  const MoeShape m = moe_shape(s, x);
  const double e = kActBytes;
  B.gemm("router", m.n, m.E, m.h);
  B.memory("router_softmax_topk", 2 * m.n * m.E * 4.0, 5 * m.n * m.E);   // fp32 scores
  B.memory("moe_permute", 2 * m.n * m.k * m.h * e, 0);
  const int dispatch = ep_all_to_all(B, m, "ep_dispatch", dispatch_token_bytes(s), true);
  shared_expert_forward(B, x, m);   // overlaps the dispatch
  B.wait(dispatch);
  etp_collective(B, m, "etp_all_gather_tokens", CollectiveOp::all_gather);
  routed_gemm(B, "expert_fc1", WorkItem::Routed::expert_m, 1, m.fc1_e, m.h);
  routed_memory(B, x.glu ? "expert_swiglu" : "expert_gelu", m.fe * e * (x.glu ? 3 : 2), 8 * m.fe);
  routed_gemm(B, "expert_fc2", WorkItem::Routed::expert_m, 1, m.h, m.fe);
  etp_collective(B, m, "etp_reduce_scatter_out", CollectiveOp::reduce_scatter);
  ep_all_to_all(B, m, "ep_combine", m.h * e, false);
  B.memory("moe_unpermute", 2 * m.n * m.k * m.h * e + m.n * m.h * e, 2 * m.n * m.k * m.h);
}

void moe_ffn_backward(Builder& B, const TrainingSpec& s, const Shape& x) {
  const MoeShape m = moe_shape(s, x);
  const double e = kActBytes;
  B.memory("moe_unpermute_bwd", 2 * m.n * m.k * m.h * e + m.n * m.h * e, 2 * m.n * m.k * m.h);
  // The combine's gradient travels like a dispatch; the shared experts' backward hides it.
  const int back = ep_all_to_all(B, m, "ep_combine_bwd", m.h * e, true);
  shared_expert_backward(B, x, m);
  B.wait(back);
  etp_collective(B, m, "etp_all_gather_grads", CollectiveOp::all_gather);
  routed_gemm(B, "expert_fc2_dgrad", WorkItem::Routed::expert_m, 1, m.fe, m.h);
  routed_gemm(B, "expert_fc2_wgrad", WorkItem::Routed::expert_k, m.fe, m.h, 1);
  routed_memory(B, x.glu ? "expert_swiglu_bwd" : "expert_gelu_bwd", m.fe * e * (x.glu ? 5 : 3), 12 * m.fe);
  routed_gemm(B, "expert_fc1_dgrad", WorkItem::Routed::expert_m, 1, m.h, m.fc1_e);
  routed_gemm(B, "expert_fc1_wgrad", WorkItem::Routed::expert_k, m.h, m.fc1_e, 1);
  etp_collective(B, m, "etp_reduce_scatter_dgrad", CollectiveOp::reduce_scatter);
  ep_all_to_all(B, m, "ep_dispatch_bwd", m.h * e, false);
  B.memory("moe_permute_bwd", 2 * m.n * m.k * m.h * e, m.n * m.k * m.h);
  B.gemm("router_dgrad", m.n, m.h, m.E);
  B.gemm("router_wgrad", m.h, m.E, m.n);
}

}  // namespace foresight::sim
