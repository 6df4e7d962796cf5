#include "sim/model/param_counts.hpp"

namespace foresight::sim {

double head_dim(const hw::ModelSpec& m) { return m.head_dim > 0 ? m.head_dim : double(m.hidden) / m.heads; }

double attention_head_dim(const hw::ModelSpec& m) {
  if (m.mla.kv_lora_rank > 0) return (m.mla.qk_nope_head_dim + m.mla.qk_rope_head_dim + m.mla.v_head_dim) / 2.0;
  return head_dim(m);
}

bool has_biases(const hw::ModelSpec& m) { return m.norm == "layernorm"; }

ParamCounts count_params(const hw::ModelSpec& m) {
  const double h = m.hidden, f = m.ffn_hidden, d = head_dim(m), V = m.vocab, H = m.heads;
  const double qkv_out = (m.heads + 2.0 * m.kv_heads) * d;
  const double gate = m.activation == "swiglu" ? 2.0 : 1.0;  // SwiGLU's FC1 produces gate and up together
  const double fc1_out = gate * f;
  double attention = h * qkv_out + H * d * h;
  if (m.mla.kv_lora_rank > 0) {  // DeepSeek-V2/V3 latent attention, with its two latent RMSNorms
    const auto& a = m.mla;
    const double qk = a.qk_nope_head_dim + a.qk_rope_head_dim;
    const double q = a.q_lora_rank > 0 ? h * a.q_lora_rank + a.q_lora_rank + a.q_lora_rank * H * qk : h * H * qk;
    const double kv = h * (a.kv_lora_rank + a.qk_rope_head_dim) + a.kv_lora_rank +
                      a.kv_lora_rank * H * (a.qk_nope_head_dim + a.v_head_dim);
    attention = q + kv + H * a.v_head_dim * h;
  }
  const double dense_ffn = h * fc1_out + f * h;
  ParamCounts c;
  c.layer_matmul = attention + dense_ffn;
  const double biases = has_biases(m) ? qkv_out + h + fc1_out + h : 0.0;
  const double norm_params = (m.norm == "layernorm" ? 2.0 : 1.0) * h;
  c.per_layer = c.layer_matmul + biases + 2.0 * norm_params;
  c.embedding = V * h;
  c.output = m.tied_embeddings ? 0.0 : V * h;
  c.final_norm = norm_params;
  c.total = m.layers * c.per_layer + c.embedding + c.output + c.final_norm;
  c.matmul = m.layers * c.layer_matmul + V * h;
  c.active = c.total;
  c.mtp_dense = 2.0 * h * h + 2.0 * norm_params + c.per_layer;
  if (m.is_moe()) {
    const auto& e = m.moe;
    const double expert = h * gate * e.expert_ffn_hidden + e.expert_ffn_hidden * h;
    const double router = h * e.experts;
    const double moe_layers = m.layers - e.first_dense_layers;
    const double moe_total = router + (e.experts + e.shared_experts) * expert;
    const double moe_active = router + (e.top_k + e.shared_experts) * expert;
    // MoE layers replace the dense FFN; per_layer and layer_matmul stay those of a dense layer.
    c.total += moe_layers * (moe_total - dense_ffn);
    c.active += moe_layers * (moe_active - dense_ffn);
    c.matmul += moe_layers * (moe_active - dense_ffn);
    c.expert = expert;
    c.moe_layer_dense = c.per_layer - dense_ffn + router + e.shared_experts * expert;
    c.mtp_dense = 2.0 * h * h + 2.0 * norm_params + c.moe_layer_dense;
  }
  return c;
}

}  // namespace foresight::sim
