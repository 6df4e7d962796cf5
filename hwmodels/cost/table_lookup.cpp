#include "hwmodels/cost/table_lookup.hpp"

#include <algorithm>
#include <cmath>

#include "core/dtype.hpp"

namespace foresight::hw {
namespace {

std::string table_dtype(const std::string& dtype) {
  const std::string d = canonical_dtype(dtype);
  return d == "fp16" ? "bf16" : d;
}

// Latency at `coords` with the grid edge scaled for coordinates past it. `work_axis[a]` says whether
// time grows in proportion to axis a past the largest measured value (every GEMM axis and the batch
// of attention; the sequence axis of causal attention grows as its square, given as exponent 2).
std::optional<TableAnswer> answer(const KernelTable& t, std::vector<double> coords, const std::vector<double>& power) {
  double scale = 1;
  bool outside = false;
  for (size_t a = 0; a < coords.size(); ++a) {
    const double hi = t.values[a].back(), lo = t.values[a].front();
    if (coords[a] > hi) {
      scale *= std::pow(coords[a] / hi, power[a]);
      coords[a] = hi;
      outside = true;
    } else if (coords[a] < lo) {
      coords[a] = lo;  // the latency floor of the smallest measured launch
      outside = true;
    }
  }
  bool edge = false;
  const auto s = t.lookup(coords, &edge);
  if (!s) return std::nullopt;
  return TableAnswer{*s * scale, outside || edge, &t};
}

}  // namespace

const KernelTable* TableChooser::find(const std::string& op, const std::string& dtype, const std::string& kv_dtype,
                                      const std::map<std::string, int64_t>& keys) const {
  std::string key = op + '|' + dtype + '|' + kv_dtype;
  for (const auto& [k, v] : keys) key += '|' + k + '=' + std::to_string(v);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = memo_.find(key);
  if (it != memo_.end()) return it->second;
  return memo_[key] = p_.find_table(op, dtype, kv_dtype, keys);
}

std::optional<TableAnswer> table_gemm(const TableChooser& p, const GemmQuery& q) {
  const KernelTable* t = p.find("gemm", table_dtype(q.dtype));
  if (!t || t->axes.size() != 3 || q.m <= 0 || q.n <= 0 || q.k <= 0) return std::nullopt;
  auto a = answer(*t, {double(q.m), double(q.n), double(q.k)}, {1, 1, 1});
  if (a) a->seconds *= double(std::max<int64_t>(q.batch, 1));  // independent GEMMs run one after another
  return a;
}

std::optional<TableAnswer> table_attention(const TableChooser& p, const AttentionQuery& q) {
  if (q.backward || q.seq_q <= 0 || q.seq_kv < q.seq_q || q.heads <= 0) return std::nullopt;
  const KernelTable* t = p.find("attention", table_dtype(q.dtype), "",
                                      {{"heads", q.heads}, {"kv_heads", q.kv_heads}, {"head_dim", q.head_dim}});
  if (!t || t->axes.size() != 2) return std::nullopt;
  // The measured kernel is causal self-attention of `sequence` tokens; price the query as the same
  // kernel over its whole KV length, scaled by the FLOPs the query does relative to that one.
  auto a = answer(*t, {double(q.batch), double(q.seq_kv)}, {1, 2});
  if (!a) return std::nullopt;
  AttentionQuery measured = q;
  measured.seq_q = q.seq_kv, measured.causal = true;
  measured.heads = t->keys.count("heads") ? t->keys.at("heads") : q.heads;
  measured.head_dim = t->keys.count("head_dim") ? t->keys.at("head_dim") : q.head_dim;
  a->seconds *= attention_flops(q) / attention_flops(measured);
  const bool same_keys = measured.heads == q.heads && measured.head_dim == q.head_dim &&
                         (!t->keys.count("kv_heads") || t->keys.at("kv_heads") == q.kv_heads);
  a->outside = a->outside || !same_keys;
  return a;
}

std::optional<TableAnswer> table_routed_experts(const TableChooser& p, const RoutedExpertsQuery& q) {
  if (q.tokens <= 0) return std::nullopt;
  const std::map<std::string, int64_t> keys{{"hidden", q.hidden}, {"inter", q.inter}, {"top_k", q.top_k},
                                            {"experts", q.experts}, {"moe_tp", q.moe_tp}, {"moe_ep", q.moe_ep}};
  const std::string d = table_dtype(q.dtype);
  // FP8 MoE checkpoints (DeepSeek-V3, Qwen3-*-FP8) carry 128x128 block scales, so their engines run
  // the block-scaled kernels; per-tensor fp8 tables answer when no block-scaled one was measured.
  for (const std::string& dtype : d == "fp8" ? std::vector<std::string>{"fp8_block", "fp8"} : std::vector<std::string>{d}) {
    const KernelTable* t = p.find("moe", dtype, "", keys);
    if (!t || t->keys != keys || t->axes.size() != 1) continue;
    return answer(*t, {double(q.tokens)}, {1});
  }
  return std::nullopt;
}

std::optional<TableAnswer> table_decode_attention(const TableChooser& p, const DecodeAttentionQuery& q) {
  if (q.sequences == 0 || q.heads <= 0) return std::nullopt;
  const KernelTable* t = p.find("decode_attention", table_dtype(q.dtype), canonical_dtype(q.kv_dtype),
                                      {{"heads", q.heads}, {"kv_heads", q.kv_heads}, {"head_dim", q.head_dim}});
  if (!t || t->axes.size() != 2) return std::nullopt;
  double tokens = 0;
  for (size_t i = 0; i < q.sequences; ++i) tokens += double(q.context[i]);
  const double mean = std::max(1.0, tokens / double(q.sequences));
  auto a = answer(*t, {double(q.sequences), mean}, {1, 1});
  if (!a) return std::nullopt;
  // A table for other head counts: decode is bandwidth bound, time follows the KV bytes read.
  const double kv_t = t->keys.count("kv_heads") ? double(t->keys.at("kv_heads")) : double(q.kv_heads);
  const double d_t = t->keys.count("head_dim") ? double(t->keys.at("head_dim")) : double(q.head_dim);
  const double ratio = double(q.kv_heads) * double(q.head_dim) / (kv_t * d_t);
  a->seconds *= ratio;
  const bool same_keys = (!t->keys.count("heads") || t->keys.at("heads") == q.heads) && ratio == 1.0;
  a->outside = a->outside || !same_keys;
  return a;
}

}  // namespace foresight::hw
