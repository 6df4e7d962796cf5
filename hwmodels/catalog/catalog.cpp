#include "hwmodels/catalog/catalog.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text_file.hpp"
#include "core/yaml_reader.hpp"

namespace foresight::hw {

const std::vector<std::pair<std::string, std::string>>& embedded_catalog_files();  // generated

namespace {

using units::Dimension;

// Reads the {value, source} pair every hardware fact must be; a bare number is an error so that no
// figure enters the catalog without its provenance.
class EntryReader {
 public:
  EntryReader(const YamlNode& node, const std::map<std::string, std::string>& sources, SourceMap& out)
      : node_(node), sources_(sources), out_(out) {}

  YamlNode value_node(const std::string& key) const {
    const YamlNode field = node_.at(key);
    return checked(field, key);
  }

  double quantity(const std::string& key, Dimension dim) const { return value_node(key).as_quantity(dim); }
  int count(const std::string& key) const { return static_cast<int>(value_node(key).as_int_in(1, 1 << 24)); }
  bool flag(const std::string& key) const { return value_node(key).as_bool(); }
  double optional_quantity(const std::string& key, Dimension dim) const {
    return node_.has(key) ? quantity(key, dim) : 0.0;
  }

  YamlNode checked(const YamlNode& field, const std::string& key) const {
    if (!field.is_map() || !field.has("value") || !field.has("source"))
      field.fail("hardware facts are written {value: ..., source: ...}; the source is required");
    field.expect_only({"value", "source", "note"});
    const std::string src = field.at("source").as_string();
    auto it = sources_.find(src);
    out_[key] = it == sources_.end() ? src : it->second;
    return field.at("value");
  }

 private:
  const YamlNode& node_;
  const std::map<std::string, std::string>& sources_;
  SourceMap& out_;
};

std::map<std::string, std::string> read_sources(const YamlNode& root) {
  std::map<std::string, std::string> out;
  if (auto s = root.find("sources"))
    for (const auto& [k, v] : s->entries()) out[k] = v.as_string();
  return out;
}

GpuSpec read_gpu(const std::string& id, const YamlNode& n, const std::map<std::string, std::string>& src) {
  n.expect_only({"name", "architecture", "sm_count", "memory_capacity", "memory_bandwidth", "nvlink_generation",
                 "nvlink_bandwidth", "boost_clock", "tdp", "dense_flops", "notes"});
  GpuSpec g;
  g.id = id;
  EntryReader r(n, src, g.sources);
  g.name = n.at("name").as_string();
  g.architecture = n.at("architecture").as_string();
  g.sm_count = n.has("sm_count") ? r.count("sm_count") : 0;  // unpublished for some parts
  g.memory_capacity = r.quantity("memory_capacity", Dimension::bytes);
  g.memory_bandwidth = r.quantity("memory_bandwidth", Dimension::bandwidth);
  g.nvlink_generation = r.count("nvlink_generation");
  g.nvlink_bandwidth = r.quantity("nvlink_bandwidth", Dimension::bandwidth);
  g.boost_clock = r.optional_quantity("boost_clock", Dimension::frequency);
  g.tdp = r.optional_quantity("tdp", Dimension::power);
  const YamlNode flops = n.at("dense_flops");
  flops.expect_only({"fp64", "tf32", "bf16", "fp16", "fp8", "fp4"});
  for (const auto& [dtype, v] : flops.entries())
    g.dense_flops[dtype] = r.checked(v, "dense_flops." + dtype).as_quantity(Dimension::flop_rate);
  if (!g.dense_flops.count("bf16")) flops.fail("every GPU needs a bf16 peak");
  return g;
}

SystemSpec read_system(const std::string& id, const YamlNode& n, const std::map<std::string, std::string>& src) {
  n.expect_only({"name", "gpu", "gpus_per_node", "nvlink_domain", "nvswitch", "nvls", "nics_per_node",
                 "supported_nics", "default_nic", "pcie_bandwidth", "nvlink_latency", "host_memory", "nvme_capacity",
                 "nvme_bandwidth", "notes"});
  SystemSpec s;
  s.id = id;
  EntryReader r(n, src, s.sources);
  s.name = n.at("name").as_string();
  s.gpu = n.at("gpu").as_string();
  s.gpus_per_node = r.count("gpus_per_node");
  s.nvlink_domain = r.count("nvlink_domain");
  s.nvswitch = r.flag("nvswitch");
  s.nvls = r.flag("nvls");
  s.nics_per_node = r.count("nics_per_node");
  for (const auto& item : n.at("supported_nics").items()) s.supported_nics.push_back(item.as_string());
  s.default_nic = n.at("default_nic").as_string();
  s.pcie_bandwidth = r.quantity("pcie_bandwidth", Dimension::bandwidth);
  s.nvlink_latency = r.optional_quantity("nvlink_latency", Dimension::time);
  s.host_memory = r.optional_quantity("host_memory", Dimension::bytes);
  s.nvme_capacity = r.optional_quantity("nvme_capacity", Dimension::bytes);
  s.nvme_bandwidth = r.optional_quantity("nvme_bandwidth", Dimension::bandwidth);
  if (s.nvlink_domain % s.gpus_per_node != 0 && s.gpus_per_node % s.nvlink_domain != 0)
    n.at("nvlink_domain").fail("must be a multiple or a divisor of gpus_per_node");
  return s;
}

NicSpec read_nic(const std::string& id, const YamlNode& n, const std::map<std::string, std::string>& src) {
  n.expect_only({"name", "protocol", "bandwidth", "latency", "notes"});
  NicSpec x;
  x.id = id;
  EntryReader r(n, src, x.sources);
  x.name = n.at("name").as_string();
  x.protocol = n.at("protocol").as_choice({"infiniband", "roce"});
  x.bandwidth = r.quantity("bandwidth", Dimension::bandwidth);
  x.latency = r.optional_quantity("latency", Dimension::time);
  return x;
}

SwitchSpec read_switch(const std::string& id, const YamlNode& n, const std::map<std::string, std::string>& src) {
  n.expect_only({"name", "protocol", "radix", "port_speed", "latency", "notes"});
  SwitchSpec x;
  x.id = id;
  EntryReader r(n, src, x.sources);
  x.name = n.at("name").as_string();
  x.protocol = n.at("protocol").as_choice({"infiniband", "roce", "nvlink"});
  x.radix = r.count("radix");
  x.port_speed = r.optional_quantity("port_speed", Dimension::bandwidth);
  x.latency = r.optional_quantity("latency", Dimension::time);
  return x;
}

FailureCauseSpec read_failure_cause(const std::string& id, const YamlNode& n, const std::map<std::string, std::string>& src) {
  n.expect_only({"name", "category", "unit", "rate", "needs_spare", "notes"});
  FailureCauseSpec x;
  x.id = id;
  EntryReader r(n, src, x.sources);
  x.name = n.at("name").as_string();
  x.category = n.at("category").as_string();
  x.unit = n.at("unit").as_choice({"gpu", "host", "nic", "switch"});
  x.rate = r.quantity("rate", Dimension::rate);
  if (!(x.rate >= 0)) n.at("rate").fail("a failure rate cannot be negative");
  x.needs_spare = n.has("needs_spare") ? n.at("needs_spare").as_bool() : true;
  return x;
}

StorageTierSpec read_storage_tier(const std::string& id, const YamlNode& n, const std::map<std::string, std::string>& src) {
  n.expect_only({"name", "write_bandwidth", "read_bandwidth", "per_node", "notes"});
  StorageTierSpec x;
  x.id = id;
  EntryReader r(n, src, x.sources);
  x.name = n.at("name").as_string();
  x.write_bandwidth = r.quantity("write_bandwidth", Dimension::bandwidth);
  x.read_bandwidth = r.quantity("read_bandwidth", Dimension::bandwidth);
  if (!(x.write_bandwidth > 0)) n.at("write_bandwidth").fail("must be larger than 0");
  if (!(x.read_bandwidth > 0)) n.at("read_bandwidth").fail("must be larger than 0");
  x.per_node = n.has("per_node") ? n.at("per_node").as_bool() : false;
  return x;
}

}  // namespace

ModelSpec read_model_spec(const std::string& id, const YamlNode& n, const std::map<std::string, std::string>& src) {
  n.expect_only({"name", "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn_hidden", "vocab", "activation", "norm",
                 "tied_embeddings", "source", "published_params", "published_active_params", "moe", "mla", "notes",
                 "mtp_modules"});
  ModelSpec m;
  m.id = id;
  m.name = n.find("name") ? n.at("name").as_string() : id;
  m.layers = static_cast<int>(n.at("layers").as_int_in(1, kMaxLayers));
  m.hidden = static_cast<int>(n.at("hidden").as_int_in(1, kMaxHidden));
  m.heads = static_cast<int>(n.at("heads").as_int_in(1, kMaxHeads));
  m.kv_heads = n.has("kv_heads") ? static_cast<int>(n.at("kv_heads").as_int_in(1, m.heads)) : m.heads;
  m.ffn_hidden = n.has("ffn_hidden") ? static_cast<int>(n.at("ffn_hidden").as_int_in(1, kMaxFfn)) : 4 * m.hidden;
  m.vocab = static_cast<int>(n.at("vocab").as_int_in(1, kMaxVocab));
  m.activation = n.has("activation") ? n.at("activation").as_choice({"gelu", "swiglu"}) : "gelu";
  m.norm = n.has("norm") ? n.at("norm").as_choice({"layernorm", "rmsnorm"}) : "layernorm";
  m.tied_embeddings = n.has("tied_embeddings") && n.at("tied_embeddings").as_bool();
  if (n.has("head_dim")) {
    m.head_dim = static_cast<int>(n.at("head_dim").as_int_in(1, kMaxHeadDim));
  } else {
    if (m.hidden % m.heads != 0)
      n.at("heads").fail(fmt::format("hidden {} is not divisible by heads {}; give head_dim", m.hidden, m.heads));
    m.head_dim = m.hidden / m.heads;
  }
  if (m.heads % m.kv_heads != 0) n.at("kv_heads").fail(fmt::format("heads {} is not divisible by kv_heads {}", m.heads, m.kv_heads));
  if (auto s = n.find("source")) {
    auto it = src.find(s->as_string());
    m.sources["architecture"] = it == src.end() ? s->as_string() : it->second;
  }
  if (n.has("published_params")) {
    EntryReader r(n, src, m.sources);
    m.published_params = r.value_node("published_params").as_double();
  }
  if (n.has("published_active_params")) {
    EntryReader r(n, src, m.sources);
    m.published_active_params = r.value_node("published_active_params").as_double();
  }
  read_moe_and_mla(n, m);
  return m;
}

void read_moe_and_mla(const YamlNode& n, ModelSpec& m) {
  if (auto t = n.find("mtp_modules")) m.mtp_modules = static_cast<int>(t->as_int_in(0, 16));
  if (auto e = n.find("moe")) {
    e->expect_only({"experts", "top_k", "shared_experts", "expert_ffn_hidden", "first_dense_layers", "expert_groups",
                    "top_groups", "router"});
    MoeSpec& x = m.moe;
    x.experts = static_cast<int>(e->at("experts").as_int_in(1, 1 << 16));
    x.top_k = static_cast<int>(e->at("top_k").as_int_in(1, x.experts));
    x.shared_experts = e->has("shared_experts") ? static_cast<int>(e->at("shared_experts").as_int_in(0, 1 << 10)) : 0;
    x.expert_ffn_hidden = static_cast<int>(e->at("expert_ffn_hidden").as_int_in(1, kMaxFfn));
    x.first_dense_layers =
        e->has("first_dense_layers") ? static_cast<int>(e->at("first_dense_layers").as_int_in(0, m.layers)) : 0;
    if (auto g = e->find("expert_groups")) {
      x.expert_groups = static_cast<int>(g->as_int_in(1, x.experts));
      if (x.experts % x.expert_groups != 0)
        g->fail(fmt::format("moe.experts = {} is not divisible by expert_groups = {}", x.experts, x.expert_groups));
      x.top_groups = static_cast<int>(e->at("top_groups").as_int_in(1, x.expert_groups));
      if (x.top_groups * (x.experts / x.expert_groups) < x.top_k)
        e->at("top_groups").fail(fmt::format("top_groups = {} groups of {} experts cannot hold top_k = {} experts",
                                             x.top_groups, x.experts / x.expert_groups, x.top_k));
    } else if (auto tg = e->find("top_groups")) {
      tg->fail("top_groups needs expert_groups");
    }
    if (auto r = e->find("router")) {
      r->expect_only({"capacity_factor", "drop_tokens"});
      if (auto c = r->find("capacity_factor")) {
        x.router.capacity_factor = c->as_double();
        if (!(x.router.capacity_factor >= 1.0 && x.router.capacity_factor <= 64.0))
          c->fail("must be between 1 and 64 (a capacity below the fair share drops tokens of a perfectly balanced router)");
      }
      if (auto d = r->find("drop_tokens")) x.router.drop_tokens = d->as_bool();
      if (x.router.drop_tokens && x.router.capacity_factor <= 0)
        r->fail("drop_tokens: true needs a capacity_factor");
    }
  }
  if (auto a = n.find("mla")) {
    a->expect_only({"q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"});
    MlaSpec& x = m.mla;
    x.q_lora_rank = a->has("q_lora_rank") ? static_cast<int>(a->at("q_lora_rank").as_int_in(0, kMaxHidden)) : 0;
    x.kv_lora_rank = static_cast<int>(a->at("kv_lora_rank").as_int_in(1, kMaxHidden));
    x.qk_nope_head_dim = static_cast<int>(a->at("qk_nope_head_dim").as_int_in(1, kMaxHeadDim));
    x.qk_rope_head_dim = static_cast<int>(a->at("qk_rope_head_dim").as_int_in(1, kMaxHeadDim));
    x.v_head_dim = static_cast<int>(a->at("v_head_dim").as_int_in(1, kMaxHeadDim));
  }
}

double GpuSpec::peak_flops(const std::string& dtype) const {
  auto it = dense_flops.find(dtype);
  if (it == dense_flops.end())
    throw InputError(fmt::format("GPU {} has no published {} peak in the catalog", id, dtype));
  return it->second;
}

void Catalog::load_text(const std::string& text, const std::string& name) {
  auto source = std::make_shared<YamlSource>();
  source->file = name;
  const YamlNode root(load_yaml_string(text, name), "", source);
  if (!root.is_map()) root.fail("a catalog file is a mapping with gpus, systems, nics, switches and models");
  root.expect_only({"sources", "gpus", "systems", "nics", "switches", "models", "failure_causes", "storage_tiers"});
  const auto src = read_sources(root);
  // An id names one piece of hardware: a second definition (in a user file, of a built-in id) would
  // silently change what every scenario naming it means, so it is an error; use a new id instead.
  auto each = [&](const char* section, auto& map, auto&& read) {
    if (auto s = root.find(section))
      for (const auto& [id, node] : s->entries()) {
        if (map.count(id))
          node.fail(fmt::format("{} '{}' is already defined (built-in catalog or an earlier catalog file); "
                                "give this entry a new id", section, id));
        map[id] = read(id, node, src);
      }
  };
  // Systems last: they refer to GPUs and NICs, which may come from this same file.
  each("gpus", gpus_, read_gpu);
  each("nics", nics_, read_nic);
  each("switches", switches_, read_switch);
  each("models", models_, read_model_spec);
  each("failure_causes", failure_causes_, read_failure_cause);
  each("storage_tiers", storage_tiers_, read_storage_tier);
  each("systems", systems_, [&](const std::string& id, const YamlNode& n, const std::map<std::string, std::string>& s) {
    SystemSpec sys = read_system(id, n, s);
    if (!gpus_.count(sys.gpu)) n.at("gpu").fail(fmt::format("unknown GPU '{}'", sys.gpu));
    const auto nics = n.at("supported_nics").items();
    for (size_t i = 0; i < nics.size(); ++i)
      if (!nics_.count(sys.supported_nics[i])) nics[i].fail(fmt::format("unknown NIC '{}'", sys.supported_nics[i]));
    if (!nics_.count(sys.default_nic)) n.at("default_nic").fail(fmt::format("unknown NIC '{}'", sys.default_nic));
    return sys;
  });
}

Catalog Catalog::with_files(const std::vector<std::string>& paths) const {
  Catalog c = *this;
  for (const auto& path : paths) c.load_text(read_text_file(path), path);
  c.validate_references();
  return c;
}

void Catalog::validate_references() const {
  for (const auto& [id, s] : systems_) {
    if (!gpus_.count(s.gpu)) throw InputError(fmt::format("catalog: system {} names unknown GPU '{}'", id, s.gpu));
    for (const auto& n : s.supported_nics)
      if (!nics_.count(n)) throw InputError(fmt::format("catalog: system {} names unknown NIC '{}'", id, n));
    if (!nics_.count(s.default_nic))
      throw InputError(fmt::format("catalog: system {} has unknown default_nic '{}'", id, s.default_nic));
  }
}

const Catalog& Catalog::builtin() {
  static const Catalog catalog = [] {
    Catalog c;
    for (const auto& [name, text] : embedded_catalog_files()) c.load_text(text, name);
    c.validate_references();
    return c;
  }();
  return catalog;
}

Catalog Catalog::from_directory(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) throw InputError(SourceLocation{dir, 0, 0}, "", "not a directory");
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());  // directory order is arbitrary; systems.yaml sorts after gpus/nics
  return Catalog().with_files(files);
}

template <typename Map>
static const typename Map::mapped_type& lookup(const Map& m, const std::string& id, const char* what) {
  auto it = m.find(id);
  if (it != m.end()) return it->second;
  std::string ids;
  for (const auto& [k, v] : m) ids += (ids.empty() ? "" : ", ") + k;
  throw InputError(fmt::format("unknown {} '{}'; the catalog has: {}", what, id, ids));
}

const GpuSpec& Catalog::gpu(const std::string& id) const { return lookup(gpus_, id, "GPU"); }
const SystemSpec& Catalog::system(const std::string& id) const { return lookup(systems_, id, "system"); }
const NicSpec& Catalog::nic(const std::string& id) const { return lookup(nics_, id, "NIC"); }
const SwitchSpec& Catalog::switch_(const std::string& id) const { return lookup(switches_, id, "switch"); }
const ModelSpec& Catalog::model(const std::string& id) const { return lookup(models_, id, "model"); }
bool Catalog::has_model(const std::string& id) const { return models_.count(id) > 0; }
const StorageTierSpec& Catalog::storage_tier(const std::string& id) const {
  return lookup(storage_tiers_, id, "storage tier");
}

}  // namespace foresight::hw
