#include "api/cost_query.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/collective_op.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/json_input.hpp"
#include "hwmodels/catalog/catalog.hpp"
#include "hwmodels/cost/calibrated_collectives.hpp"
#include "hwmodels/cost/calibrated_cost_model.hpp"
#include "hwmodels/cost/roofline_cost_model.hpp"
#include "hwmodels/profile_library.hpp"
#include "hwmodels/topology/cluster.hpp"
#include "sim/collectives/collective_model.hpp"

namespace foresight::api {

using nlohmann::json;

namespace {

const char* kWhere = "shapes";

json estimate_json(const hw::Estimate& e) {
  return {{"seconds", e.seconds}, {"source", e.source}, {"extrapolated", e.extrapolated}};
}

long long pos_int(const JsonInput& in, const json& s, const std::string& p, const char* key) {
  const long long v = in.integer(s, p, key);
  if (v < 1) in.fail(JsonInput::join(p, key), "must be >= 1");
  return v;
}

long long opt_int(const JsonInput& in, const json& s, const std::string& p, const char* key, long long def) {
  return s.contains(key) ? pos_int(in, s, p, key) : def;
}

std::string opt_dtype(const JsonInput& in, const json& s, const std::string& p, const char* key, const char* def) {
  if (!s.contains(key)) return def;
  const std::string d = canonical_dtype(in.string(s, p, key));
  if (dtype_size(d) == 0) in.fail(JsonInput::join(p, key), "unknown dtype \"" + d + "\"");
  return d;
}

json kernel_results(const CostRequest& r, const hw::ComputeCostModel& cost, const json& shapes, const JsonInput& in) {
  json out = json::array();
  for (size_t i = 0; i < shapes.size(); ++i) {
    const std::string p = JsonInput::index(kWhere, i);
    const json& s = shapes[i];
    in.expect_object(s, p);
    json row;
    if (r.op == "gemm") {
      in.only_keys(s, p, {"m", "n", "k", "batch", "dtype"});
      hw::GemmQuery q;
      q.m = pos_int(in, s, p, "m"), q.n = pos_int(in, s, p, "n"), q.k = pos_int(in, s, p, "k");
      q.batch = opt_int(in, s, p, "batch", 1);
      q.dtype = opt_dtype(in, s, p, "dtype", "bf16");
      row = estimate_json(cost.gemm(q));
      row["tflops"] = hw::gemm_flops(q) / row["seconds"].get<double>() / 1e12;
    } else if (r.op == "attention") {
      in.only_keys(s, p, {"batch", "seq_q", "seq_kv", "heads", "kv_heads", "head_dim", "causal", "backward", "dtype"});
      hw::AttentionQuery q;
      q.batch = opt_int(in, s, p, "batch", 1);
      q.seq_q = pos_int(in, s, p, "seq_q");
      q.seq_kv = opt_int(in, s, p, "seq_kv", q.seq_q);
      q.heads = pos_int(in, s, p, "heads");
      q.kv_heads = opt_int(in, s, p, "kv_heads", q.heads);
      q.head_dim = pos_int(in, s, p, "head_dim");
      q.causal = s.contains("causal") ? in.boolean(s, p, "causal") : true;
      q.backward = s.contains("backward") ? in.boolean(s, p, "backward") : false;
      q.dtype = opt_dtype(in, s, p, "dtype", "bf16");
      if (q.seq_kv < q.seq_q) in.fail(JsonInput::join(p, "seq_kv"), "must be >= seq_q (queries attend to their own keys)");
      row = estimate_json(cost.attention(q));
      row["tflops"] = hw::attention_flops(q) / row["seconds"].get<double>() / 1e12;
    } else if (r.op == "decode_attention") {
      in.only_keys(s, p, {"batch", "context", "heads", "kv_heads", "head_dim", "dtype", "kv_dtype"});
      const long long batch = opt_int(in, s, p, "batch", 1);
      if (batch > 1'000'000) in.fail(JsonInput::join(p, "batch"), "more than a million sequences in one step");
      std::vector<int64_t> ctx(static_cast<size_t>(batch), pos_int(in, s, p, "context"));
      hw::DecodeAttentionQuery q;
      q.heads = pos_int(in, s, p, "heads");
      q.kv_heads = opt_int(in, s, p, "kv_heads", q.heads);
      q.head_dim = pos_int(in, s, p, "head_dim");
      q.dtype = opt_dtype(in, s, p, "dtype", "bf16");
      q.kv_dtype = opt_dtype(in, s, p, "kv_dtype", "bf16");
      q.context = ctx.data(), q.sequences = ctx.size();
      row = estimate_json(cost.decode_attention(q));
      const double kv_bytes = 2.0 * double(batch) * double(ctx[0]) * double(q.kv_heads) * double(q.head_dim) *
                              dtype_size(q.kv_dtype);
      row["gbps"] = kv_bytes / row["seconds"].get<double>() / 1e9;
    } else {  // memory
      in.only_keys(s, p, {"op", "bytes", "flops"});
      hw::MemoryOpQuery q;
      q.op = s.contains("op") ? in.string(s, p, "op") : "copy";
      q.bytes = in.positive(s, p, "bytes");
      q.flops = s.contains("flops") ? in.number(s, p, "flops") : 0;
      row = estimate_json(cost.memory_op(q));
      row["gbps"] = q.bytes / row["seconds"].get<double>() / 1e9;
    }
    out.push_back(std::move(row));
  }
  return out;
}

json collective_results(const CostRequest& r, const hw::Catalog& catalog, const json& shapes, const JsonInput& in,
                        json& calibration) {
  const hw::SystemSpec& system = catalog.system(r.system);
  // Parse every row first: the cluster must hold the largest communicator.
  long long max_ranks = 2;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const std::string p = JsonInput::index(kWhere, i);
    in.expect_object(shapes[i], p);
    in.only_keys(shapes[i], p, {"op", "bytes", "ranks", "algorithm", "protocol"});
    const long long ranks = pos_int(in, shapes[i], p, "ranks");
    if (ranks < 2 || ranks > 1'048'576) in.fail(JsonInput::join(p, "ranks"), "must be between 2 and 1048576");
    max_ranks = std::max(max_ranks, ranks);
  }
  hw::ClusterSpec spec;
  spec.system = r.system;
  spec.nodes = static_cast<int>((max_ranks + system.gpus_per_node - 1) / system.gpus_per_node);
  hw::resolve_cluster(spec, catalog);
  const hw::Cluster cluster = hw::Cluster::build(spec);
  sim::CollectiveModel model(cluster, sim::NcclParams::defaults());
  // Measured intra-node timings, when the chosen calibration has a profile with them.
  const auto choice = hw::choose_calibration(r.calibration, cluster.gpu().id, r.auto_family);
  std::unique_ptr<hw::CalibratedCollectives> measured;
  if (!choice.profile_path.empty()) measured = std::make_unique<hw::CalibratedCollectives>(*hw::load_profile_cached(choice.profile_path));
  calibration = {{"source", measured ? "profile" : "roofline"}, {"why", choice.why}};
  if (measured) calibration["profile"] = choice.profile_path;
  json out = json::array();
  for (size_t i = 0; i < shapes.size(); ++i) {
    const std::string p = JsonInput::index(kWhere, i);
    const json& s = shapes[i];
    sim::CollectiveRequest q;
    try {
      q.op = parse_op(s.contains("op") ? in.string(s, p, "op") : "all_reduce");
    } catch (const std::invalid_argument& e) {
      in.fail(JsonInput::join(p, "op"), e.what());
    }
    q.bytes = in.positive(s, p, "bytes");
    const int ranks = static_cast<int>(in.integer(s, p, "ranks"));
    for (int g = 0; g < ranks; ++g) q.ranks.push_back(g);
    if (s.contains("algorithm")) q.algorithm = in.string(s, p, "algorithm");
    if (s.contains("protocol")) q.protocol = in.string(s, p, "protocol");
    const sim::CollectiveResult res = model.estimate(q);
    json row{{"seconds", res.time_s}, {"source", "simulated NCCL model"}, {"algorithm", res.algorithm},
             {"protocol", res.protocol}, {"extrapolated", false},
             {"busbw_gbps", q.bytes * busbw_factor(q.op, ranks) / res.time_s / 1e9}};
    if (measured && ranks <= cluster.gpus_per_node()) {
      if (auto m = measured->time(op_name(q.op), ranks, q.bytes)) {
        row["measured"] = estimate_json(*m);
        row["measured"]["busbw_gbps"] = q.bytes * busbw_factor(q.op, ranks) / m->seconds / 1e9;
      }
    }
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace

std::string cost(const CostRequest& r) {
  JsonInput in("<shapes>");
  json shapes;
  try {
    shapes = json::parse(r.shapes_json);
  } catch (const json::parse_error& e) {
    throw InputError(SourceLocation{"<shapes>", 0, 0}, "", std::string("malformed JSON: ") + e.what());
  }
  if (!shapes.is_array()) shapes = json::array({shapes});
  const hw::Catalog catalog = hw::Catalog::builtin().with_files(r.catalog_files);
  json doc{{"op", r.op}};
  if (r.op == "collective") {
    if (r.system.empty()) throw InputError(SourceLocation{"--system", 0, 0}, "", "a collective needs a system (e.g. dgx-h100)");
    json calibration;
    doc["system"] = r.system;
    doc["results"] = collective_results(r, catalog, shapes, in, calibration);
    doc["calibration"] = calibration;
    return doc.dump();
  }
  if (r.op != "gemm" && r.op != "attention" && r.op != "decode_attention" && r.op != "memory")
    throw InputError(SourceLocation{"op", 0, 0}, "", "expected gemm, attention, decode_attention, memory or collective, got \"" + r.op + "\"");
  if (r.gpu.empty()) throw InputError(SourceLocation{"--gpu", 0, 0}, "", "a kernel query needs a GPU (e.g. h100-sxm-80gb)");
  const hw::GpuSpec& gpu = catalog.gpu(r.gpu);
  const auto choice = hw::choose_calibration(r.calibration, gpu.id, r.auto_family);
  std::unique_ptr<hw::ComputeCostModel> cost;
  if (choice.profile_path.empty())
    cost = std::make_unique<hw::RooflineCostModel>(gpu);
  else
    cost = std::make_unique<hw::CalibratedCostModel>(hw::load_profile_cached(choice.profile_path), gpu);
  doc["gpu"] = gpu.id;
  doc["results"] = kernel_results(r, *cost, shapes, in);
  doc["calibration"] = {{"source", choice.profile_path.empty() ? "roofline" : "profile"}, {"why", choice.why},
                        {"provenance", cost->provenance()}};
  if (!choice.profile_path.empty()) doc["calibration"]["profile"] = choice.profile_path;
  return doc.dump();
}

}  // namespace foresight::api
