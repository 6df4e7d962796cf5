#include "hwmodels/catalog/catalog_report.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace foresight::hw {

namespace {

std::string sources_block(const SourceMap& sources) {
  std::string s;
  for (const auto& [field, src] : sources) s += fmt::format("      {:<20} {}\n", field, src);
  return s;
}

}  // namespace

std::string catalog_table(const Catalog& c) {
  std::string s = "GPUs\n";
  for (const auto& [id, g] : c.gpus()) {
    s += fmt::format("  {:<16} {:<28} {:>4} SMs  {:>6.0f} GB  {:>5.2f} TB/s  NVLink {:>4.0f} GB/s/dir  bf16 {:>6.0f} TFLOP/s\n", id,
                     g.name, g.sm_count, g.memory_capacity / 1e9, g.memory_bandwidth / 1e12, g.nvlink_bandwidth / 1e9,
                     g.dense_flops.at("bf16") / 1e12);
    s += sources_block(g.sources);
  }
  s += "Systems\n";
  for (const auto& [id, x] : c.systems()) {
    s += fmt::format("  {:<16} {:<28} {} x {}  NVLink domain {}  NVLS {}  {} NICs (default {})\n", id, x.name,
                     x.gpus_per_node, x.gpu, x.nvlink_domain, x.nvls ? "yes" : "no", x.nics_per_node, x.default_nic);
    s += sources_block(x.sources);
  }
  s += "NICs\n";
  for (const auto& [id, n] : c.nics()) {
    s += fmt::format("  {:<16} {:<44} {:<10} {:>5.0f} Gb/s\n", id, n.name, n.protocol, n.bandwidth * 8 / 1e9);
    s += sources_block(n.sources);
  }
  s += "Switches\n";
  for (const auto& [id, w] : c.switches()) {
    s += fmt::format("  {:<16} {:<44} {:<10} radix {:>3}  {:>5.0f} Gb/s\n", id, w.name, w.protocol, w.radix,
                     w.port_speed * 8 / 1e9);
    s += sources_block(w.sources);
  }
  s += "Models\n";
  for (const auto& [id, m] : c.models()) {
    // MoE: the experts' FFN and how many of them a token uses, and the active parameters.
    const std::string ffn = m.is_moe() ? fmt::format("moe {}x{} top-{}{}", m.moe.experts, m.moe.expert_ffn_hidden,
                                                     m.moe.top_k, m.moe.shared_experts ? fmt::format("+{}", m.moe.shared_experts) : "")
                                       : fmt::format("ffn {:>6}", m.ffn_hidden);
    s += fmt::format("  {:<16} layers {:>3}  hidden {:>5}  heads {:>3}/{:<3} {:<10}  vocab {:>6}  {} params{}{}\n", id,
                     m.layers, m.hidden, m.heads, m.kv_heads, ffn, m.vocab,
                     m.published_params > 0 ? fmt::format("{:.3g}", m.published_params) : "-",
                     m.published_active_params > 0 ? fmt::format(", {:.3g} active", m.published_active_params) : "",
                     m.mla.kv_lora_rank > 0 ? fmt::format(", MLA kv_lora {}", m.mla.kv_lora_rank) : "");
  }
  return s;
}

std::string catalog_json_text(const Catalog& c) {
  nlohmann::json j;
  for (const auto& [id, g] : c.gpus())
    j["gpus"][id] = {{"name", g.name}, {"sm_count", g.sm_count}, {"memory_capacity_B", g.memory_capacity},
                     {"memory_bandwidth_Bps", g.memory_bandwidth}, {"nvlink_bandwidth_Bps", g.nvlink_bandwidth},
                     {"dense_flops", g.dense_flops}, {"tdp_W", g.tdp}, {"sources", g.sources}};
  for (const auto& [id, x] : c.systems())
    j["systems"][id] = {{"name", x.name}, {"gpu", x.gpu}, {"gpus_per_node", x.gpus_per_node},
                        {"nvlink_domain", x.nvlink_domain}, {"nvls", x.nvls}, {"nics_per_node", x.nics_per_node},
                        {"supported_nics", x.supported_nics}, {"sources", x.sources}};
  for (const auto& [id, n] : c.nics())
    j["nics"][id] = {{"name", n.name}, {"protocol", n.protocol}, {"bandwidth_Bps", n.bandwidth}, {"sources", n.sources}};
  for (const auto& [id, w] : c.switches())
    j["switches"][id] = {{"name", w.name}, {"radix", w.radix}, {"port_speed_Bps", w.port_speed}, {"sources", w.sources}};
  for (const auto& [id, m] : c.models())
    j["models"][id] = {{"layers", m.layers}, {"hidden", m.hidden}, {"heads", m.heads}, {"kv_heads", m.kv_heads},
                       {"ffn_hidden", m.ffn_hidden}, {"vocab", m.vocab}, {"published_params", m.published_params}};
  for (const auto& [id, m] : c.models()) {
    if (m.is_moe())
      j["models"][id]["moe"] = {{"experts", m.moe.experts}, {"top_k", m.moe.top_k}, {"shared_experts", m.moe.shared_experts},
                                {"expert_ffn_hidden", m.moe.expert_ffn_hidden},
                                {"first_dense_layers", m.moe.first_dense_layers},
                                {"published_active_params", m.published_active_params}};
    if (m.mla.kv_lora_rank > 0)
      j["models"][id]["mla"] = {{"q_lora_rank", m.mla.q_lora_rank}, {"kv_lora_rank", m.mla.kv_lora_rank},
                                {"qk_nope_head_dim", m.mla.qk_nope_head_dim},
                                {"qk_rope_head_dim", m.mla.qk_rope_head_dim}, {"v_head_dim", m.mla.v_head_dim}};
  }
  return j.dump(2) + "\n";
}

}  // namespace foresight::hw
