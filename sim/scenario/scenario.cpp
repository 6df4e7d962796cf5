#include "sim/scenario/scenario.hpp"

#include <cctype>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/yaml_reader.hpp"
#include "hwmodels/profile_library.hpp"

namespace foresight::sim {

const char* fidelity_name(Fidelity f) { return f == Fidelity::flow ? "flow" : "analytical"; }

namespace {

hw::ClusterSpec read_cluster(const YamlNode& n, const hw::Catalog& catalog, uint64_t seed) {
  n.expect_only({"system", "nodes", "fabric", "extra_nodes"});
  hw::ClusterSpec c;
  c.seed = seed;
  c.system = n.at("system").as_string();
  c.nodes = static_cast<int>(n.at("nodes").as_int_in(1, 1'000'000));  // more is not a cluster this tool models
  std::vector<YamlNode> extra;
  if (auto e = n.find("extra_nodes")) {
    if (!e->is_sequence()) e->fail("expected a list of {system, nodes}");
    extra = e->items();
    for (const auto& g : extra) {
      g.expect_only({"system", "nodes"});
      c.extra.push_back({g.at("system").as_string(), static_cast<int>(g.at("nodes").as_int_in(1, 1'000'000)), {}, {}, {}});
    }
    if (c.total_nodes() > 1'000'000) e->fail("more than 1,000,000 nodes in all");
  }
  std::optional<YamlNode> fabric = n.find("fabric");
  if (fabric) {
    const YamlNode& f = *fabric;
    f.expect_only({"topology", "nic", "switch", "oversubscription", "tiers"});
    if (auto t = f.find("topology"))
      c.fabric.kind = t->as_choice({"rail-optimized-fat-tree", "fat-tree"}) == "fat-tree"
                          ? hw::FabricKind::fat_tree
                          : hw::FabricKind::rail_optimized_fat_tree;
    if (auto nic = f.find("nic")) c.fabric.nic = nic->as_string();
    if (auto sw = f.find("switch")) c.fabric.switch_id = sw->as_string();
    if (auto o = f.find("oversubscription")) {
      c.fabric.oversubscription = o->as_double();
      if (!(c.fabric.oversubscription >= 1.0) || c.fabric.oversubscription > 64)
        o->fail("must be a ratio between 1 (non-blocking) and 64");
    }
    if (auto t = f.find("tiers")) {
      c.fabric.tiers = static_cast<int>(t->as_int_in(2, 3));
    }
  }
  // Resolution problems are blamed on the key that chose the hardware, or on its parent.
  hw::resolve_cluster(c, catalog, [&](const std::string& key, const std::string& message) {
    const std::string leaf = key.substr(key.rfind('.') + 1);
    const std::string extra_key = "cluster.extra_nodes.";
    if (key.rfind(extra_key, 0) == 0) extra.at(std::stoul(key.substr(extra_key.size()))).at(leaf).fail(message);
    if (leaf == "system") n.at("system").fail(message);
    if (fabric && fabric->has(leaf)) fabric->at(leaf).fail(message);
    (fabric ? *fabric : n).fail(message);
  });
  return c;
}

// User catalog files named by the scenario, relative to the scenario file's folder.
std::vector<std::string> read_catalog_files(const YamlNode& node, const std::string& scenario_file) {
  std::vector<YamlNode> items = node.is_sequence() ? node.items() : std::vector<YamlNode>{node};
  const auto base = std::filesystem::path(scenario_file).parent_path();
  std::vector<std::string> files;
  for (const auto& item : items) {
    const std::filesystem::path p = item.as_string();
    const auto resolved = p.is_absolute() || base.empty() ? p : base / p;
    if (!std::filesystem::is_regular_file(resolved)) item.fail(fmt::format("no catalog file at {}", resolved.string()));
    files.push_back(resolved.string());
  }
  return files;
}

const Workload& choose_workload(const YamlNode& doc, const WorkloadRegistry& registry, std::string& kind) {
  if (auto w = doc.find("workload")) {
    kind = w->at("kind").as_choice(registry.kinds());
    return *registry.find(kind);
  }
  // The workload whose primary section the scenario has; when two match, the one that reads the
  // other's section too refines it (goodput reads training's sections and adds failures).
  std::vector<const Workload*> matches;
  for (const auto& w : registry.all())
    if (!w->primary_section().empty() && doc.has(w->primary_section())) matches.push_back(w.get());
  const Workload* found = matches.empty() ? nullptr : matches.front();
  for (const Workload* w : matches) {
    const auto secs = w->sections();
    bool covers_all = true;
    for (const Workload* o : matches)
      covers_all = covers_all && std::find(secs.begin(), secs.end(), o->primary_section()) != secs.end();
    if (covers_all) found = w;
  }
  if (matches.size() > 1) {
    const auto secs = found->sections();
    for (const Workload* o : matches)
      if (std::find(secs.begin(), secs.end(), o->primary_section()) == secs.end())
        doc.at(o->primary_section())
            .fail(fmt::format("a scenario runs one workload, and this one has both '{}' and '{}'; keep one",
                              found->primary_section(), o->primary_section()));
  }
  if (!found) doc.at("workload");  // raises "missing required key"
  kind = found->kind();
  return *found;
}

void record_locations(const YamlNode& n, std::map<std::string, SourceLocation>& where) {
  if (!n.is_map()) return;
  for (const auto& [key, child] : n.entries()) {
    where.emplace(child.path(), child.location());
    record_locations(child, where);
  }
}

Scenario build(YAML::Node root, const std::string& name, const LoadOptions& options) {
  const auto& registry = WorkloadRegistry::builtin();
  auto source = std::make_shared<YamlSource>();
  source->file = name;
  source->overridden = apply_overrides(root, options.overrides, &source->created_by);
  const YamlNode doc(root, "", source);
  if (!doc.is_map()) doc.fail("a scenario is a mapping with name, cluster and workload");
  std::vector<std::string> keys{"name", "seed", "fidelity", "cluster", "catalog", "calibration", "workload"};
  for (const auto& w : registry.all())
    for (const auto& k : w->sections())
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  doc.expect_only(keys);
  Scenario s;
  s.file = name;
  record_locations(doc, s.where);
  s.name = doc.at("name").as_string();
  if (auto seed = doc.find("seed")) {
    const long long v = seed->as_int();
    if (v < 0) seed->fail("must not be negative");
    s.seed = static_cast<uint64_t>(v);
  }
  if (auto f = doc.find("fidelity"))
    s.fidelity = f->as_choice({"flow", "analytical"}) == "flow" ? Fidelity::flow : Fidelity::analytical;

  if (auto c = doc.find("calibration")) {
    s.calibration = c->as_string();
    s.calibration_where = c->location().str();
    const auto& fam = hw::kernel_families();
    if (s.calibration != "auto" && s.calibration != "roofline" &&
        std::find(fam.begin(), fam.end(), s.calibration) == fam.end()) {
      const std::filesystem::path p = s.calibration, base = std::filesystem::path(name).parent_path();
      const auto resolved = p.is_absolute() || base.empty() ? p : base / p;
      if (!std::filesystem::is_regular_file(resolved))
        c->fail(fmt::format("expected auto, roofline, trtllm, vllm, sglang or a profile file; no file at {}",
                            resolved.string()));
      s.calibration = resolved.string();
    }
  }

  std::vector<std::string> catalog_files;
  if (auto c = doc.find("catalog")) catalog_files = read_catalog_files(*c, name);
  catalog_files.insert(catalog_files.end(), options.catalog_files.begin(), options.catalog_files.end());
  s.catalog = catalog_files.empty() ? std::shared_ptr<const hw::Catalog>(&hw::Catalog::builtin(), [](const hw::Catalog*) {})
                                    : std::make_shared<const hw::Catalog>(hw::Catalog::builtin().with_files(catalog_files));

  s.cluster = read_cluster(doc.at("cluster"), *s.catalog, s.seed);
  const auto& system = s.cluster.system_spec;
  const int total_gpus = s.cluster.total_nodes() * system.gpus_per_node;

  const Workload& workload = choose_workload(doc, registry, s.workload_kind);
  // Collectives, training and MoE plans assume one GPU and NVLink/NIC speed everywhere.
  if (!s.cluster.extra.empty() && s.workload_kind != "serving")
    doc.at("cluster").at("extra_nodes").fail(fmt::format(
        "mixed systems are modelled for serving (each pool on its own system); a {} scenario needs one system", s.workload_kind));
  const auto mine = workload.sections();
  for (const auto& w : registry.all())
    for (const auto& k : w->sections())
      if (doc.has(k) && std::find(mine.begin(), mine.end(), k) == mine.end())
        doc.at(k).fail(fmt::format("a {} scenario takes no {} section", s.workload_kind, k));
  const ParseContext ctx{doc, *s.catalog, s.cluster, total_gpus, std::min(system.nvlink_domain, total_gpus)};
  s.workload = workload.parse(ctx);
  s.warnings = s.workload->warnings;
  return s;
}

// yaml-cpp can still throw on shapes our accessors do not anticipate; such input is bad input too.
Scenario build_checked(YAML::Node root, const std::string& name, const LoadOptions& options) {
  try {
    return build(std::move(root), name, options);
  } catch (const YAML::Exception& e) {
    throw InputError(SourceLocation{name, e.mark.line + 1, e.mark.column + 1}, "", "malformed YAML: " + e.msg);
  }
}

}  // namespace

InputError locate_error(const Scenario& s, const InputError& e) {
  const std::string msg = e.what();
  // "<key.path>: <message>", the form late errors take; a located message starts with a file name
  // followed by ':<line>', or with "--set", neither of which has ": " right after a bare key path.
  size_t i = 0;
  while (i < msg.size() && (std::isalnum(static_cast<unsigned char>(msg[i])) || msg[i] == '_' || msg[i] == '.')) ++i;
  if (i == 0 || i + 1 >= msg.size() || msg[i] != ':' || msg[i + 1] != ' ') return e;
  const auto it = s.where.find(msg.substr(0, i));
  if (it == s.where.end()) return e;
  return InputError(it->second, it->first, msg.substr(i + 2));
}

Scenario load_scenario_text(const std::string& text, const std::string& name, const LoadOptions& options) {
  return build_checked(load_yaml_string(text, name), name, options);
}

Scenario load_scenario(const std::string& path, const LoadOptions& options) {
  return build_checked(load_yaml_file(path), path, options);
}

}  // namespace foresight::sim
