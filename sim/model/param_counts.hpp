#pragma once
// Closed-form parameter counts of a decoder-only transformer, shared by training (memory, FLOPs) and
// serving (weights per GPU). Mixture-of-experts and latent-attention models are counted too (total
// and active); the workloads simulate dense models only so far.
#include "hwmodels/catalog/catalog.hpp"

namespace foresight::sim {

struct ParamCounts {
  double per_layer = 0;     // all weights, biases and norm parameters of one transformer layer
  double layer_matmul = 0;  // of which GEMM weights
  double embedding = 0;     // V*h (learned position embeddings are not modelled)
  double output = 0;        // V*h when untied, else 0
  double final_norm = 0;
  double total = 0;
  double matmul = 0;        // GEMM weights that every token multiplies: layers*layer_matmul + V*h (logits)
  double active = 0;        // parameters one token uses (MoE: top_k + shared experts); dense: total
  double moe_layer_dense = 0;  // an MoE layer without its routed experts: attention, norms, router, shared experts
  double expert = 0;           // one routed expert
  // One multi-token-prediction module outside its routed experts (projection 2h x h, two norms and
  // a layer's attention, router and shared experts); its routed experts are `expert` each, as in
  // an MoE layer. Not in `total`.
  double mtp_dense = 0;
};

ParamCounts count_params(const hw::ModelSpec& m);
double head_dim(const hw::ModelSpec& m);  // the catalog's head_dim, else hidden/heads
// The head dimension attention FLOPs scale with: head_dim, or for latent attention the mean of the
// query-key (nope + rope) and value head dims (QK^T and PV each cost 2*s*s_kv*dim per head).
double attention_head_dim(const hw::ModelSpec& m);
bool has_biases(const hw::ModelSpec& m);  // GPT-style (layernorm) models carry biases and dropout

}  // namespace foresight::sim
