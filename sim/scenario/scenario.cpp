#include "sim/scenario/scenario.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "sim/core/yaml_reader.hpp"

namespace foresight::sim {

const char* fidelity_name(Fidelity f) { return f == Fidelity::flow ? "flow" : "analytical"; }

std::vector<double> CollectiveBenchSpec::sizes() const {
  std::vector<double> out;
  for (double s = min_bytes; s <= max_bytes * (1 + 1e-12); s *= factor) {
    out.push_back(std::round(s));
    if (factor <= 1.0) break;
  }
  return out;
}

namespace {

using units::Dimension;

hw::ClusterSpec read_cluster(const YamlNode& n, const hw::Catalog& catalog, uint64_t seed) {
  n.expect_only({"system", "nodes", "fabric"});
  hw::ClusterSpec c;
  c.seed = seed;
  const YamlNode sys = n.at("system");
  c.system = sys.as_string();
  if (!catalog.systems().count(c.system)) {
    std::vector<std::string> ids;
    for (const auto& [id, s] : catalog.systems()) ids.push_back(id);
    sys.fail(fmt::format("unknown system '{}'; the catalog has: {}", c.system, fmt::join(ids, ", ")));
  }
  c.nodes = static_cast<int>(n.at("nodes").as_positive_int());
  if (c.nodes > 1'000'000) n.at("nodes").fail("more than a million nodes is not a cluster this tool can model");
  const auto& system = catalog.system(c.system);
  if (auto f = n.find("fabric")) {
    f->expect_only({"topology", "nic", "switch", "oversubscription", "tiers"});
    if (auto t = f->find("topology"))
      c.fabric.kind = t->as_choice({"rail-optimized-fat-tree", "fat-tree"}) == "fat-tree"
                          ? hw::FabricKind::fat_tree
                          : hw::FabricKind::rail_optimized_fat_tree;
    if (auto nic = f->find("nic")) {
      c.fabric.nic = nic->as_string();
      if (!catalog.nics().count(c.fabric.nic)) nic->fail(fmt::format("unknown NIC '{}'", c.fabric.nic));
      const auto& ok = system.supported_nics;
      if (std::find(ok.begin(), ok.end(), c.fabric.nic) == ok.end())
        nic->fail(fmt::format("system {} cannot take NIC {}; it takes: {}", c.system, c.fabric.nic, fmt::join(ok, ", ")));
    }
    if (auto sw = f->find("switch")) {
      c.fabric.switch_id = sw->as_string();
      if (!catalog.switches().count(c.fabric.switch_id)) sw->fail(fmt::format("unknown switch '{}'", c.fabric.switch_id));
    }
    if (auto o = f->find("oversubscription")) {
      c.fabric.oversubscription = o->as_double();
      if (!(c.fabric.oversubscription >= 1.0) || c.fabric.oversubscription > 64)
        o->fail("must be a ratio between 1 (non-blocking) and 64");
    }
    if (auto t = f->find("tiers")) {
      c.fabric.tiers = static_cast<int>(t->as_int());
      if (c.fabric.tiers != 2 && c.fabric.tiers != 3) t->fail("must be 2 or 3");
    }
  }
  return c;
}

CollectiveBenchSpec read_bench(const YamlNode& w, int total_gpus) {
  w.expect_only({"kind", "ops", "ranks", "sizes", "algorithm", "protocol", "dtype"});
  CollectiveBenchSpec b;
  const YamlNode ops = w.at("ops");
  for (const auto& item : ops.items()) {
    try {
      b.ops.push_back(parse_op(item.as_string()));
    } catch (const std::invalid_argument& e) {
      item.fail(e.what());
    }
  }
  if (b.ops.empty()) ops.fail("needs at least one collective");
  const YamlNode ranks = w.at("ranks");
  b.ranks = static_cast<int>(ranks.as_positive_int());
  if (b.ranks > total_gpus) ranks.fail(fmt::format("{} ranks do not fit in a cluster of {} GPUs", b.ranks, total_gpus));
  const YamlNode sizes = w.at("sizes");
  sizes.expect_only({"min", "max", "factor"});
  b.min_bytes = sizes.at("min").as_quantity(Dimension::bytes);
  b.max_bytes = sizes.at("max").as_quantity(Dimension::bytes);
  if (b.min_bytes < 1) sizes.at("min").fail("must be at least 1 B");
  if (b.max_bytes < b.min_bytes) sizes.at("max").fail("must not be smaller than sizes.min");
  if (b.max_bytes > 1e13) sizes.at("max").fail("larger than 10 TB per rank is not a collective any GPU can hold");
  if (auto f = sizes.find("factor")) {
    b.factor = f->as_double();
    if (!(b.factor > 1.0)) f->fail("must be greater than 1");
    if (std::log(b.max_bytes / b.min_bytes) / std::log(b.factor) > 200) f->fail("gives more than 200 sizes");
  }
  if (auto a = w.find("algorithm")) b.algorithm = a->as_choice({"auto", "ring", "tree", "nvls", "hierarchical", "direct"});
  if (auto p = w.find("protocol")) b.protocol = p->as_choice({"auto", "ll", "ll128", "simple"});
  if (auto d = w.find("dtype")) b.dtype = d->as_choice({"float", "half", "bfloat16", "double", "int8"});
  return b;
}

Scenario build(YAML::Node root, const std::string& name, const std::vector<std::string>& overrides,
               const hw::Catalog& catalog) {
  auto source = std::make_shared<YamlSource>();
  source->file = name;
  source->overridden = apply_overrides(root, overrides);
  const YamlNode doc(root, "", source);
  if (!doc.is_map()) doc.fail("a scenario is a mapping with name, cluster and workload");
  doc.expect_only({"name", "seed", "fidelity", "cluster", "workload", "model", "training"});
  Scenario s;
  s.file = name;
  s.name = doc.at("name").as_string();
  if (auto seed = doc.find("seed")) {
    const long long v = seed->as_int();
    if (v < 0) seed->fail("must not be negative");
    s.seed = static_cast<uint64_t>(v);
  }
  if (auto f = doc.find("fidelity"))
    s.fidelity = f->as_choice({"flow", "analytical"}) == "flow" ? Fidelity::flow : Fidelity::analytical;
  s.cluster = read_cluster(doc.at("cluster"), catalog, s.seed);
  const auto& system = catalog.system(s.cluster.system);
  const int total_gpus = s.cluster.nodes * system.gpus_per_node;

  const bool has_training = doc.has("training");
  const auto workload = doc.find("workload");
  s.workload_kind = has_training ? "training" : "";
  if (workload) s.workload_kind = workload->at("kind").as_choice({"collective-bench", "training"});
  if (s.workload_kind.empty()) doc.at("workload");  // raises "missing required key"
  if (s.workload_kind == "collective-bench") {
    if (has_training) doc.at("training").fail("a collective-bench scenario takes no training section");
    s.bench = read_bench(*workload, total_gpus);
  } else {
    if (workload) workload->expect_only({"kind"});
    const int domain = std::min(system.nvlink_domain, total_gpus);
    s.training = parse_training(doc.at("model"), doc.at("training"), catalog, total_gpus, domain);
    s.warnings = s.training->warnings;
  }
  return s;
}

}  // namespace

// yaml-cpp can still throw on shapes our accessors do not anticipate; such input is bad input too.
static Scenario build_checked(YAML::Node root, const std::string& name, const std::vector<std::string>& overrides,
                              const hw::Catalog& catalog) {
  try {
    return build(std::move(root), name, overrides, catalog);
  } catch (const YAML::Exception& e) {
    throw InputError(SourceLocation{name, e.mark.line + 1, e.mark.column + 1}, "", "malformed YAML: " + e.msg);
  }
}

Scenario load_scenario_text(const std::string& text, const std::string& name,
                            const std::vector<std::string>& overrides, const hw::Catalog& catalog) {
  return build_checked(load_yaml_string(text, name), name, overrides, catalog);
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides,
                       const hw::Catalog& catalog) {
  return build_checked(load_yaml_file(path), path, overrides, catalog);
}

}  // namespace foresight::sim
