#include "sim/model/param_counts.hpp"

namespace foresight::sim {

double head_dim(const hw::ModelSpec& m) { return m.head_dim > 0 ? m.head_dim : double(m.hidden) / m.heads; }

bool has_biases(const hw::ModelSpec& m) { return m.norm == "layernorm"; }

ParamCounts count_params(const hw::ModelSpec& m) {
  const double h = m.hidden, f = m.ffn_hidden, d = head_dim(m), V = m.vocab;
  const double qkv_out = (m.heads + 2.0 * m.kv_heads) * d;
  const double fc1_out = (m.activation == "swiglu" ? 2.0 : 1.0) * f;
  ParamCounts c;
  c.layer_matmul = h * qkv_out + m.heads * d * h + h * fc1_out + f * h;
  const double biases = has_biases(m) ? qkv_out + h + fc1_out + h : 0.0;
  const double norm_params = (m.norm == "layernorm" ? 2.0 : 1.0) * h;
  c.per_layer = c.layer_matmul + biases + 2.0 * norm_params;
  c.embedding = V * h;
  c.output = m.tied_embeddings ? 0.0 : V * h;
  c.final_norm = norm_params;
  c.total = m.layers * c.per_layer + c.embedding + c.output + c.final_norm;
  c.matmul = m.layers * c.layer_matmul + V * h;
  return c;
}

}  // namespace foresight::sim
