#include "sim/model/model_choice.hpp"

#include <fmt/format.h>

namespace foresight::sim {

namespace {

hw::ModelSpec lookup(const YamlNode& model, const hw::Catalog& catalog) {
  if (!model.is_scalar()) return parse_inline_model(model);
  const std::string id = model.as_string();
  if (!catalog.has_model(id)) {
    std::string ids;
    for (const auto& [k, v] : catalog.models()) ids += (ids.empty() ? "" : ", ") + k;
    model.fail(fmt::format("unknown model '{}'; catalog models: {}", id, ids));
  }
  return catalog.model(id);
}

}  // namespace

hw::ModelSpec resolve_model(const YamlNode& model, const hw::Catalog& catalog, bool moe_supported) {
  hw::ModelSpec m = lookup(model, catalog);
  // Training simulates expert parallelism and latent attention; serving does not yet (it needs
  // expert-parallel decode and the compressed KV cache).
  if (!moe_supported && (m.is_moe() || m.mla.kv_lora_rank > 0))
    model.fail(fmt::format("{} is a {} model: training simulates it, serving simulates dense models only so far",
                           m.id, m.is_moe() ? "mixture-of-experts" : "latent-attention"));
  return m;
}

hw::ModelSpec parse_inline_model(const YamlNode& m) {
  m.expect_only({"id", "name", "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn_hidden", "vocab", "activation", "norm",
                 "tied_embeddings", "published_params", "published_active_params", "moe", "mla", "mtp_modules"});
  hw::ModelSpec s;
  s.id = m.has("id") ? m.at("id").as_string() : "inline";
  s.name = m.has("name") ? m.at("name").as_string() : s.id;
  s.layers = static_cast<int>(m.at("layers").as_int_in(1, hw::kMaxLayers));
  s.hidden = static_cast<int>(m.at("hidden").as_int_in(1, hw::kMaxHidden));
  s.heads = static_cast<int>(m.at("heads").as_int_in(1, hw::kMaxHeads));
  s.head_dim = m.has("head_dim") ? static_cast<int>(m.at("head_dim").as_int_in(1, hw::kMaxHeadDim)) : 0;
  s.kv_heads = m.has("kv_heads") ? static_cast<int>(m.at("kv_heads").as_int_in(1, s.heads)) : s.heads;
  s.ffn_hidden = m.has("ffn_hidden") ? static_cast<int>(m.at("ffn_hidden").as_int_in(1, hw::kMaxFfn)) : 4 * s.hidden;
  s.vocab = static_cast<int>(m.at("vocab").as_int_in(1, hw::kMaxVocab));
  s.activation = m.has("activation") ? m.at("activation").as_choice({"gelu", "swiglu"}) : "gelu";
  s.norm = m.has("norm") ? m.at("norm").as_choice({"layernorm", "rmsnorm"}) : "layernorm";
  s.tied_embeddings = m.has("tied_embeddings") ? m.at("tied_embeddings").as_bool() : false;
  s.published_params = m.has("published_params") ? m.at("published_params").as_double() : 0.0;
  s.published_active_params = m.has("published_active_params") ? m.at("published_active_params").as_double() : 0.0;
  hw::read_moe_and_mla(m, s);
  if (s.head_dim == 0 && s.hidden % s.heads != 0)
    m.at("heads").fail(fmt::format("model.hidden ({}) is not divisible by model.heads ({})", s.hidden, s.heads));
  if (s.heads % s.kv_heads != 0)
    m.at("kv_heads").fail(fmt::format("model.heads ({}) is not divisible by model.kv_heads ({})", s.heads, s.kv_heads));
  return s;
}

}  // namespace foresight::sim
