#pragma once
// Shared fixtures: inline model specs, fake cost models whose answers are closed forms, and
// collective timers injected in place of the network model.
#include <memory>
#include <string>

#include "hwmodels/cost/cost_model.hpp"
#include "hwmodels/topology/cluster.hpp"
#include "core/yaml_reader.hpp"
#include "sim/engine/analytical/analytical_engine.hpp"
#include "sim/training/training_graph.hpp"
#include "sim/training/training_run.hpp"
#include "sim/training/training_spec.hpp"

namespace foresight::test {

// Seconds = FLOPs / 1e12 for the enabled op kinds, 0 for the others, so sums of task durations
// are FLOP counts.
struct FlopCost : hw::ComputeCostModel {
  bool use_gemm = true, use_attention = false, use_memory = false;
  hw::Estimate gemm(const hw::GemmQuery& q) const override { return {use_gemm ? hw::gemm_flops(q) * 1e-12 : 0.0, "test"}; }
  hw::Estimate attention(const hw::AttentionQuery& q) const override {
    return {use_attention ? hw::attention_flops(q) * 1e-12 : 0.0, "test"};
  }
  hw::Estimate memory_op(const hw::MemoryOpQuery& q) const override { return {use_memory ? q.bytes * 1e-12 : 0.0, "test"}; }
  std::string provenance() const override { return "test flop counter"; }
};

inline sim::CollectiveTimer zero_timer() {
  return [](const sim::CollectiveRequest&) { return sim::CollectiveResult{0.0, "test", "test"}; };
}

// alpha-beta with 10 us latency and 50 GB/s, independent of the group: enough to make
// communication visible without a topology.
inline sim::CollectiveTimer fake_timer() {
  return [](const sim::CollectiveRequest& r) { return sim::CollectiveResult{10e-6 + r.bytes / 50e9, "test", "test"}; };
}

inline hw::ModelSpec gpt_model(int layers, int hidden, int heads, int vocab) {
  hw::ModelSpec m;
  m.id = "test-gpt";
  m.layers = layers, m.hidden = hidden, m.heads = heads, m.kv_heads = heads, m.ffn_hidden = 4 * hidden;
  m.vocab = vocab;
  m.activation = "gelu";
  m.norm = "layernorm";
  m.tied_embeddings = true;
  return m;
}

inline hw::ModelSpec llama_model(int layers, int hidden, int heads, int kv_heads, int ffn, int vocab) {
  hw::ModelSpec m;
  m.id = "test-llama";
  m.layers = layers, m.hidden = hidden, m.heads = heads, m.kv_heads = kv_heads, m.ffn_hidden = ffn, m.vocab = vocab;
  m.activation = "swiglu";
  m.norm = "rmsnorm";
  m.tied_embeddings = false;
  return m;
}

inline sim::TrainingSpec make_spec(hw::ModelSpec m, int tp, int pp, int dp, int cp, int64_t seq, int64_t gbs,
                                   int64_t mbs, const std::string& schedule = "1f1b", int vpp = 1) {
  sim::TrainingSpec s;
  s.model = std::move(m);
  s.sequence_length = seq, s.global_batch = gbs, s.micro_batch = mbs;
  s.par.tp = tp, s.par.pp = pp, s.par.dp = dp, s.par.cp = cp, s.par.vpp = vpp;
  s.schedule = schedule;
  return s;
}

inline sim::ClusterInfo cluster_for(const sim::TrainingSpec& s, double peak = 1e12, double capacity = 80e9) {
  sim::ClusterInfo c;
  c.total_gpus = s.par.tp * s.par.pp * s.par.dp * s.par.cp;
  c.gpus_per_node = 8;
  c.nvlink_domain = 8;
  c.peak_flops = peak;
  c.memory_capacity = capacity;
  return c;
}

// Total seconds of compute tasks over the whole job (representative rank x its identical peers).
inline double job_compute_seconds(const sim::TrainingSpec& s, const hw::ComputeCostModel& cost) {
  sim::TaskGraph g;
  sim::build_training_graph(s, cost, g);
  double sum = 0;
  for (const auto& t : g.tasks())
    if (t.kind == sim::Task::Kind::compute) sum += t.duration_s;
  return sum * s.par.tp * s.par.cp * s.par.dp;
}

// One iteration on the analytical engine with collectives timed by `timer`.
inline sim::TrainingResult train(const sim::TrainingSpec& s, const sim::ClusterInfo& c, const hw::ComputeCostModel& cost,
                                 const sim::CollectiveTimer& timer, sim::TaskGraph* graph = nullptr,
                                 std::vector<sim::TaskTiming>* timings = nullptr) {
  sim::AnalyticalEngine engine(timer);
  return sim::run_training(s, c, cost, engine, graph, timings);
}

// A cluster of the built-in catalog's hardware.
inline hw::Cluster catalog_cluster(const std::string& system, int nodes) {
  hw::ClusterSpec spec;
  spec.system = system;
  spec.nodes = nodes;
  hw::resolve_cluster(spec, hw::Catalog::builtin());
  return hw::Cluster::build(spec);
}

inline YamlNode yaml(const std::string& text, const std::string& key) {
  auto src = std::make_shared<YamlSource>();
  src->file = "test.yaml";
  YAML::Node root = load_yaml_string(text, "test.yaml");
  return YamlNode(root, "", src).at(key);
}

}  // namespace foresight::test
