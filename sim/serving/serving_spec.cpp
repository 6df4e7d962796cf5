#include "sim/serving/serving_spec.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "sim/model/model_choice.hpp"

namespace foresight::sim {

const char* engine_name(ServingEngine e) {
  switch (e) {
    case ServingEngine::vllm: return "vllm";
    case ServingEngine::sglang: return "sglang";
    case ServingEngine::trtllm: return "trtllm";
  }
  return "?";
}

namespace {

using units::Dimension;

constexpr int64_t kMaxRequests = 100'000'000;   // far beyond any study; keeps counters and loops bounded
constexpr int64_t kMaxTokens = 10'000'000;      // per prompt or output: no model has a context this long

int bounded_int(const YamlNode& n, int64_t lo, int64_t hi) {
  const long long v = n.as_int();
  if (v < lo || v > hi) n.fail(fmt::format("must be between {} and {}, got {}", lo, hi, v));
  return static_cast<int>(v);
}

int64_t bounded_int64(const YamlNode& n, int64_t lo, int64_t hi) {
  const long long v = n.as_int();
  if (v < lo || v > hi) n.fail(fmt::format("must be between {} and {}, got {}", lo, hi, v));
  return v;
}

double positive(const YamlNode& n) {
  const double v = n.as_double();
  if (!(v > 0) || !std::isfinite(v)) n.fail(fmt::format("must be a positive number, got {}", v));
  return v;
}

LengthDist parse_length(const YamlNode& n, bool trace_allowed) {
  LengthDist d;
  if (!n.is_map()) n.fail("expected {dist: fixed, value: N} (or uniform, lognormal, zipf)");
  std::vector<std::string> kinds{"fixed", "uniform", "lognormal", "zipf"};
  if (trace_allowed) kinds.push_back("trace");
  d.dist = n.at("dist").as_choice(kinds);
  if (d.dist == "fixed") {
    n.expect_only({"dist", "value"});
    d.value = static_cast<double>(bounded_int64(n.at("value"), 1, kMaxTokens));
  } else if (d.dist == "uniform" || d.dist == "zipf") {
    n.expect_only(d.dist == "zipf" ? std::vector<std::string>{"dist", "min", "max", "s"}
                                   : std::vector<std::string>{"dist", "min", "max"});
    d.min = static_cast<double>(bounded_int64(n.at("min"), 1, kMaxTokens));
    d.max = static_cast<double>(bounded_int64(n.at("max"), 1, kMaxTokens));
    if (d.max < d.min) n.at("max").fail(fmt::format("must not be smaller than min ({})", d.min));
    if (auto s = n.find("s")) d.s = positive(*s);
  } else if (d.dist == "lognormal") {
    n.expect_only({"dist", "mean", "sigma", "min", "max"});
    d.mean = positive(n.at("mean"));
    d.sigma = n.at("sigma").as_double();
    if (!(d.sigma >= 0) || d.sigma > 5) n.at("sigma").fail("must be between 0 and 5 (the spread of log(tokens))");
    d.min = n.has("min") ? static_cast<double>(bounded_int64(n.at("min"), 1, kMaxTokens)) : 1;
    d.max = n.has("max") ? static_cast<double>(bounded_int64(n.at("max"), 1, kMaxTokens)) : double(kMaxTokens);
    if (d.max < d.min) n.at("max").fail(fmt::format("must not be smaller than min ({})", d.min));
  } else {
    n.expect_only({"dist"});
  }
  return d;
}

ArrivalSpec parse_arrivals(const YamlNode& n) {
  ArrivalSpec a;
  a.where = n.location();
  a.kind = n.at("kind").as_choice({"poisson", "gamma", "constant", "closed_loop", "trace"});
  if (a.kind == "poisson" || a.kind == "constant") {
    n.expect_only({"kind", "rate"});
    a.rate = n.at("rate").as_quantity(Dimension::rate);
  } else if (a.kind == "gamma") {
    n.expect_only({"kind", "rate", "cv"});
    a.rate = n.at("rate").as_quantity(Dimension::rate);
    a.cv = positive(n.at("cv"));
    if (a.cv > 100) n.at("cv").fail("must be at most 100");
  } else if (a.kind == "closed_loop") {
    n.expect_only({"kind", "concurrency"});
    a.concurrency = bounded_int(n.at("concurrency"), 1, 1'000'000);
  } else {
    n.expect_only({"kind", "path", "format", "time_scale"});
    // Relative to the scenario file, like its catalog files.
    const YamlNode p = n.at("path");
    std::filesystem::path path = p.as_string();
    const auto base = std::filesystem::path(p.location().file).parent_path();
    if (path.is_relative() && !base.empty() && p.location().file.rfind("--set", 0) != 0)
      path = base / path;
    if (!std::filesystem::is_regular_file(path)) p.fail(fmt::format("no trace file at {}", path.string()));
    a.path = path.string();
    a.where = p.location();
    if (auto f = n.find("format")) a.format = f->as_choice({"azure", "burstgpt", "mooncake"});
    if (auto t = n.find("time_scale")) a.time_scale = positive(*t);
  }
  if (a.kind == "poisson" || a.kind == "constant" || a.kind == "gamma") {
    if (!(a.rate > 0) || !std::isfinite(a.rate)) n.at("rate").fail("must be a positive rate like 10/s");
    if (a.rate > 1e7) n.at("rate").fail("more than 10 million requests per second is not a serving workload");
  }
  return a;
}

ServingWorkloadSpec parse_workload(const YamlNode& n) {
  n.expect_only({"requests", "arrivals", "input_tokens", "output_tokens", "shared_prefix", "priorities"});
  ServingWorkloadSpec w;
  w.arrivals = parse_arrivals(n.at("arrivals"));
  const bool trace = w.arrivals.kind == "trace";
  if (auto r = n.find("requests")) w.requests = bounded_int64(*r, 1, kMaxRequests);
  else if (!trace) n.at("requests");  // required unless the trace decides
  else w.requests = kMaxRequests;
  if (auto i = n.find("input_tokens")) w.input = parse_length(*i, trace);
  else if (trace) w.input.dist = "trace";
  else n.at("input_tokens");
  if (auto o = n.find("output_tokens")) w.output = parse_length(*o, trace);
  else if (trace) w.output.dist = "trace";
  else n.at("output_tokens");
  if (auto p = n.find("shared_prefix")) {
    p->expect_only({"fraction", "tokens", "groups"});
    if (auto f = p->find("fraction")) {
      w.shared_prefix_fraction = f->as_double();
      if (!(w.shared_prefix_fraction >= 0 && w.shared_prefix_fraction <= 1)) f->fail("must be between 0 and 1");
    }
    if (auto t = p->find("tokens")) w.shared_prefix_tokens = bounded_int64(*t, 0, kMaxTokens);
    if (auto g = p->find("groups")) w.shared_prefix_groups = bounded_int(*g, 1, 1'000'000);
  }
  if (auto p = n.find("priorities")) {
    for (const auto& item : p->items()) {
      item.expect_only({"weight", "priority"});
      PriorityClass c;
      c.weight = positive(item.at("weight"));
      c.priority = bounded_int(item.at("priority"), 0, 1000);
      w.priorities.push_back(c);
    }
    if (w.priorities.empty()) p->fail("needs at least one {weight, priority}");
  }
  return w;
}

// The engines' own defaults for what a scenario leaves out, so an unset knob means what it means
// in the engine being modelled (sources in docs/serving.md).
void apply_engine_defaults(ServingSpec& s, const hw::GpuSpec& gpu) {
  auto& sch = s.scheduler;
  const double gib = gpu.memory_capacity / 1073741824.0;
  switch (s.engine) {
    case ServingEngine::vllm: {
      // vLLM V1 (vllm/engine/arg_utils.py): `vllm serve` on >= 70 GiB GPUs other than A100 takes
      // 8192 batched tokens and 1024 sequences, else 2048 and 256; chunked prefill and prefix
      // caching on; 16-token blocks; gpu_memory_utilization 0.9 (0.92 from 0.33).
      const bool large = gib >= 70 && gpu.architecture != "ampere";
      sch.max_num_batched_tokens = large ? 8192 : 2048;
      sch.max_num_seqs = large ? 1024 : 256;
      sch.chunked_prefill = true;
      sch.prefix_caching = true;
      sch.block_size = 16;
      break;
    }
    case ServingEngine::sglang:
      // SGLang server_args.py: chunked_prefill_size 8192 on 80-141 GB GPUs, 16384 from 160 GB;
      // radix cache on by default; schedule_policy fcfs. Its page_size is 1 (token-granular
      // matching); Foresight keeps 16-token pages by default, as a token per cache entry costs
      // millions of entries per run (set block_size: 1 for token granularity).
      sch.max_num_batched_tokens = gib >= 160 ? 16384 : gib >= 70 ? 8192 : 4096;
      sch.max_num_seqs = 1024;
      sch.chunked_prefill = true;
      sch.prefix_caching = true;
      sch.block_size = 16;
      break;
    case ServingEngine::trtllm:
      // TensorRT-LLM BuildConfig / trtllm-serve: max_batch_size 2048, max_num_tokens 8192, chunked
      // context off; KV blocks of 32 tokens; GUARANTEED_NO_EVICT capacity scheduling.
      sch.max_num_batched_tokens = 8192;
      sch.max_num_seqs = 2048;
      sch.chunked_prefill = false;
      sch.prefix_caching = false;
      sch.block_size = 32;
      break;
  }
}

// Per-iteration CPU cost of the engine's scheduler, input preparation and output processing,
// charged once per step on top of the GPU work.
void default_overhead(ServingSpec& s) {
  auto& sch = s.scheduler;
  if (sch.iteration_overhead_s >= 0) return;
  switch (s.engine) {
    case ServingEngine::vllm:
    case ServingEngine::sglang:
    case ServingEngine::trtllm:
      sch.iteration_overhead_s = 0;
      sch.iteration_overhead_source = "none charged: no published per-step figure adopted yet (set serving.scheduler.iteration_overhead)";
      break;
  }
}

// `parallelism: {tp, pp, ep}` of a replica (or of one pool's replicas), checked against the model.
void parse_parallelism(const YamlNode& node, ServingSpec& s) {
  const YamlNode* p = &node;
  p->expect_only({"tp", "pp", "ep"});
  if (auto t = p->find("tp")) s.tp = bounded_int(*t, 1, 1 << 20);
  if (auto q = p->find("pp")) s.pp = bounded_int(*q, 1, 1 << 20);
  if (auto e = p->find("ep")) {
    s.ep = bounded_int(*e, 1, 1 << 20);
    if (!s.model.is_moe()) e->fail(fmt::format("ep = {} needs a mixture-of-experts model; {} is dense", s.ep, s.model.id));
    if (s.tp % s.ep != 0)
      e->fail(fmt::format("ep = {} must divide tp = {} (experts over ep GPUs, each expert over the other tp/ep)", s.ep, s.tp));
    if (s.model.moe.experts % s.ep != 0)
      e->fail(fmt::format("model.moe.experts = {} is not divisible by ep = {}", s.model.moe.experts, s.ep));
  }
  if (s.model.is_moe() && s.model.moe.expert_ffn_hidden % s.moe_tp() != 0)
    p->fail(fmt::format("model.moe.expert_ffn_hidden = {} is not divisible by tp/ep = {}", s.model.moe.expert_ffn_hidden,
                        s.moe_tp()));
  if (s.model.heads % s.tp != 0)
    p->at("tp").fail(fmt::format("model.heads = {} is not divisible by tp = {}", s.model.heads, s.tp));
  if (s.model.kv_heads % s.tp != 0 && s.tp % s.model.kv_heads != 0)
    p->at("tp").fail(fmt::format("model.kv_heads = {} and tp = {}: one must divide the other", s.model.kv_heads, s.tp));
  if (s.model.ffn_hidden % s.tp != 0)
    p->at("tp").fail(fmt::format("model.ffn_hidden = {} is not divisible by tp = {}", s.model.ffn_hidden, s.tp));
  if (s.pp > s.model.layers)
    p->at("pp").fail(fmt::format("pp = {} exceeds model.layers = {}", s.pp, s.model.layers));
}

// `placement`: packed, or each replica's first GPU, within [lo, hi) of the cluster's GPUs.
void parse_placement(const YamlNode& node, ServingSpec& s, int lo, int hi) {
  const YamlNode* p = &node;
  if (p->is_scalar()) {
    p->as_choice({"packed"});
    return;
  }
  for (const auto& item : p->items()) s.first_gpus.push_back(bounded_int(item, lo, hi - 1));
  if (static_cast<int>(s.first_gpus.size()) != s.replicas)
    p->fail(fmt::format("lists {} first GPUs for {} replicas", s.first_gpus.size(), s.replicas));
  std::vector<std::pair<int, int>> spans;
  for (int g : s.first_gpus) {
    if (g + s.gpus_per_replica() > hi)
      p->fail(fmt::format("a replica starting at GPU {} needs {} GPUs, past GPU {}", g, s.gpus_per_replica(), hi - 1));
    if (g % s.tp != 0) p->fail(fmt::format("first GPU {} is not a multiple of tp = {} (TP groups stay aligned)", g, s.tp));
    spans.emplace_back(g, g + s.gpus_per_replica());
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second) p->fail(fmt::format("replicas overlap at GPU {}", spans[i].first));
}

// `scheduler`: the engine's knobs, over the engine defaults already in `sch`.
void parse_scheduler(const YamlNode& node, SchedulerSpec& sch) {
  const YamlNode* c = &node;
  c->expect_only({"max_num_seqs", "max_num_batched_tokens", "chunked_prefill", "block_size", "gpu_memory_utilization",
                  "preemption", "prefix_caching", "policy", "num_gpu_blocks", "iteration_overhead", "max_model_len"});
  if (auto v = c->find("max_num_seqs")) sch.max_num_seqs = bounded_int(*v, 1, 1'000'000);
  if (auto v = c->find("max_num_batched_tokens")) sch.max_num_batched_tokens = bounded_int(*v, 1, 10'000'000);
  if (auto v = c->find("chunked_prefill")) sch.chunked_prefill = v->as_bool();
  if (auto v = c->find("block_size")) sch.block_size = bounded_int(*v, 1, 4096);
  if (auto v = c->find("gpu_memory_utilization")) {
    sch.gpu_memory_utilization = v->as_double();
    if (!(sch.gpu_memory_utilization > 0 && sch.gpu_memory_utilization <= 1)) v->fail("must be in (0, 1]");
  }
  if (auto v = c->find("preemption")) sch.preemption = v->as_choice({"recompute", "swap"});
  if (auto v = c->find("prefix_caching")) sch.prefix_caching = v->as_bool();
  if (auto v = c->find("policy")) sch.policy = v->as_choice({"fcfs", "priority", "lpm"});
  if (auto v = c->find("num_gpu_blocks")) sch.num_gpu_blocks = bounded_int64(*v, 1, int64_t(1) << 40);
  if (auto v = c->find("iteration_overhead")) {
    sch.iteration_overhead_s = v->as_quantity(Dimension::time);
    if (!(sch.iteration_overhead_s >= 0) || sch.iteration_overhead_s > 10) v->fail("must be between 0 s and 10 s");
    sch.iteration_overhead_source = "scenario";
  }
  if (auto v = c->find("max_model_len")) sch.max_model_len = bounded_int64(*v, 1, kMaxTokens * 2);
  if (sch.policy == "lpm" && !sch.prefix_caching)
    c->fail("policy lpm (longest prefix match first) needs prefix_caching: true");
}

// One pool of a disaggregated deployment: the scenario's replica description with the pool's own
// system, replicas, parallelism and scheduler (over the top-level scheduler); placed packed on its
// system's GPUs, after `prev` (the other pool) when they share a system, unless it lists its first GPUs.
std::shared_ptr<ServingSpec> parse_pool(const YamlNode& p, const ServingSpec& base, const hw::ClusterSpec& cluster,
                                        const ServingSpec* prev) {
  p.expect_only({"system", "replicas", "parallelism", "placement", "scheduler"});
  auto out = std::make_shared<ServingSpec>(base);
  out->replicas = 1, out->tp = 1, out->pp = 1, out->ep = 1;
  out->first_gpus.clear();
  out->disaggregation = {};
  if (auto sy = p.find("system")) {
    out->system = sy->as_string();
    const SystemGpus on = system_gpus(cluster, out->system);
    if (on.hi == 0)
      sy->fail(fmt::format("{} has no nodes in this cluster; add them: cluster.extra_nodes: [{{system: {}, nodes: N}}]",
                           out->system, out->system));
    if (!on.gpu->dense_flops.count(out->precision) && out->precision != "fp16")
      sy->fail(fmt::format("{}'s GPU {} has no {} tensor cores (serving.precision)", out->system, on.gpu->id, out->precision));
  }
  const SystemGpus on = system_gpus(cluster, out->system);
  if (auto r = p.find("replicas")) out->replicas = bounded_int(*r, 1, 1'000'000);
  if (auto q = p.find("parallelism")) parse_parallelism(*q, *out);
  if (auto c = p.find("scheduler")) parse_scheduler(*c, out->scheduler);
  if (auto q = p.find("placement")) parse_placement(*q, *out, on.lo, on.hi);
  if (out->first_gpus.empty()) {
    int first_free = on.lo;
    if (prev && prev->system == out->system)
      for (int g : prev->first_gpus) first_free = std::max(first_free, g + prev->gpus_per_replica());
    const int gpr = out->gpus_per_replica();
    const int start = (first_free + out->tp - 1) / out->tp * out->tp;   // TP groups stay aligned
    const int64_t end = start + int64_t(out->replicas) * gpr;
    if (end > on.hi)
      (p.has("replicas") ? p.at("replicas") : p)
          .fail(fmt::format("{} replicas x tp x pp = {} x {} x {} GPUs packed from GPU {} end at GPU {}, but {}'s GPUs end at {}",
                            out->replicas, out->replicas, out->tp, out->pp, start, end - 1, out->system, on.hi - 1));
    for (int r = 0; r < out->replicas; ++r) out->first_gpus.push_back(start + r * gpr);
  }
  return out;
}

// The drafter runs tensor-parallel on the replica's GPUs (vLLM's default draft TP = target TP).
void check_draft_split(const YamlNode& where, const hw::ModelSpec& d, int tp) {
  if (d.heads % tp != 0 || (d.kv_heads % tp != 0 && tp % d.kv_heads != 0) || d.ffn_hidden % tp != 0)
    where.fail(fmt::format("draft model {} ({} heads, {} KV heads, FFN {}) does not split over tp = {}", d.id, d.heads,
                           d.kv_heads, d.ffn_hidden, tp));
}

void parse_speculative(const YamlNode& n, ServingSpec& s, const hw::Catalog& catalog) {
  n.expect_only({"method", "draft_model", "tokens", "acceptance"});
  auto& sp = s.speculative;
  sp.method = n.at("method").as_choice({"draft", "mtp"});
  sp.tokens = bounded_int(n.at("tokens"), 1, 16);
  sp.acceptance = n.at("acceptance").as_double();
  if (!(sp.acceptance >= 0 && sp.acceptance <= 1)) n.at("acceptance").fail(fmt::format("must be between 0 and 1, got {}", sp.acceptance));
  if (sp.method == "draft") {
    const YamlNode m = n.at("draft_model");
    sp.draft_model = resolve_model(m, catalog, true);
    check_draft_split(m, sp.draft_model, s.tp);
    if (sp.draft_model.vocab != s.model.vocab)
      m.fail(fmt::format("draft model {} has a {}-token vocabulary, the target {} one of {}: they must share a tokenizer",
                         sp.draft_model.id, sp.draft_model.vocab, s.model.id, s.model.vocab));
  } else if (n.has("draft_model")) {
    n.at("draft_model").fail("method mtp drafts with the target's own extra layer; draft_model belongs to method draft");
  }
}

void parse_disaggregation(const YamlNode& d, ServingSpec& s, const hw::ClusterSpec& cluster) {
  d.expect_only({"prefill", "decode", "prefill_routing", "conditional", "kv_transfer"});
  auto& dis = s.disaggregation;
  dis.prefill = parse_pool(d.at("prefill"), s, cluster, nullptr);
  dis.decode = parse_pool(d.at("decode"), s, cluster, dis.prefill.get());
  if (s.speculative.method == "draft")
    check_draft_split(d.at("decode"), s.speculative.draft_model, dis.decode->tp);
  // The pools share no GPU.
  for (int a : dis.prefill->first_gpus)
    for (int b : dis.decode->first_gpus)
      if (a < b + dis.decode->gpus_per_replica() && b < a + dis.prefill->gpus_per_replica())
        d.at("decode").fail(fmt::format("a decode replica at GPUs {}-{} overlaps a prefill replica at GPUs {}-{}", b,
                                        b + dis.decode->gpus_per_replica() - 1, a, a + dis.prefill->gpus_per_replica() - 1));
  // One page layout on both sides: requests hash their prompt blocks once, at this size.
  if (dis.prefill->scheduler.block_size != dis.decode->scheduler.block_size)
    d.at("decode").fail(fmt::format("scheduler.block_size {} differs from the prefill pool's {}; the pools share one KV page size",
                                    dis.decode->scheduler.block_size, dis.prefill->scheduler.block_size));
  s.scheduler.block_size = dis.decode->scheduler.block_size;
  s.scheduler.prefix_caching = dis.prefill->scheduler.prefix_caching || dis.decode->scheduler.prefix_caching;
  if (auto r = d.find("prefill_routing"))
    dis.prefill_routing = r->as_choice({"global_queue", "round_robin", "least_requests", "least_kv", "prefix_aware", "power_of_two"});
  dis.prefill->router.policy = dis.prefill_routing == "global_queue" ? "round_robin" : dis.prefill_routing;
  if (auto c = d.find("conditional")) {
    c->expect_only({"min_tokens", "max_prefill_queue", "busy_decode_active", "busy_min_tokens"});
    auto& k = dis.conditional;
    k.enabled = true;
    if (auto v = c->find("min_tokens")) k.min_tokens = bounded_int64(*v, 0, kMaxTokens);
    if (auto v = c->find("max_prefill_queue")) k.max_prefill_queue = bounded_int64(*v, 0, kMaxRequests);
    if (auto v = c->find("busy_decode_active")) k.busy_decode_active = bounded_int64(*v, 0, kMaxRequests);
    if (auto v = c->find("busy_min_tokens")) k.busy_min_tokens = bounded_int64(*v, 0, kMaxTokens);
  }
  auto& kv = dis.kv;
  kv.page_tokens = dis.decode->scheduler.block_size;
  if (auto t = d.find("kv_transfer")) {
    t->expect_only({"mode", "page_tokens", "message_overhead_us", "layerwise"});
    if (auto v = t->find("mode")) kv.mode = v->as_choice({"pull", "push"});
    if (auto v = t->find("page_tokens")) kv.page_tokens = bounded_int(*v, 1, 1 << 20);
    if (auto v = t->find("message_overhead_us")) {
      const double us = v->as_double();
      if (!(us >= 0) || us > 1e6) v->fail(fmt::format("must be between 0 and 1e6 microseconds, got {}", us));
      kv.message_overhead_s = us * 1e-6;
    }
    if (auto v = t->find("layerwise")) {
      kv.layerwise = v->as_bool();
      if (kv.layerwise && kv.mode != "push")
        v->fail("layer-wise transfer needs mode: push (the decode worker's blocks must be reserved before the prefill runs)");
    }
  }
}

}  // namespace

double SpeculativeSpec::expected_tokens() const {
  if (acceptance >= 1) return tokens + 1.0;
  return (1 - std::pow(acceptance, tokens + 1)) / (1 - acceptance);
}

ServingSpec draft_spec(const ServingSpec& replica) {
  ServingSpec d = replica;
  d.speculative = {};
  d.disaggregation = {};
  if (replica.speculative.method == "draft") {
    d.model = replica.speculative.draft_model;
    d.ep = 1;
  } else {
    d.model.layers = std::max(1, replica.model.mtp_modules);
    if (d.model.is_moe()) d.model.moe.first_dense_layers = std::min(d.model.moe.first_dense_layers, d.model.layers);
  }
  d.pp = 1;
  return d;
}

int ServingSpec::total_gpus() const {
  if (disaggregation.enabled())
    return disaggregation.prefill->replicas * disaggregation.prefill->gpus_per_replica() +
           disaggregation.decode->replicas * disaggregation.decode->gpus_per_replica();
  return replicas * gpus_per_replica();
}

nlohmann::json ServingSpec::describe() const {
  nlohmann::json j{{"model", model.id}, {"engine", engine_name(engine)}, {"precision", precision}, {"kv_dtype", kv_dtype}};
  auto pool = [](const ServingSpec& p) {
    return nlohmann::json{{"system", p.system}, {"replicas", p.replicas}, {"tp", p.tp}, {"pp", p.pp}, {"ep", p.ep}};
  };
  if (disaggregation.enabled()) {
    j["prefill"] = pool(*disaggregation.prefill);
    j["decode"] = pool(*disaggregation.decode);
  } else {
    j.update(pool(*this));
  }
  return j;
}

SystemGpus system_gpus(const hw::ClusterSpec& c, const std::string& system) {
  const int gpn = c.system_spec.gpus_per_node;
  if (system.empty() || system == c.system) return {0, c.nodes * gpn, &c.gpu_spec};
  int lo = c.nodes * gpn;
  for (const auto& g : c.extra) {
    if (g.system == system) return {lo, lo + g.nodes * gpn, &g.gpu_spec};
    lo += g.nodes * gpn;
  }
  return {};
}

ServingSpec parse_serving(const YamlNode& model, const YamlNode& n, const hw::Catalog& catalog, const hw::ClusterSpec& cluster) {
  const hw::GpuSpec& gpu = cluster.gpu_spec;
  const int total_gpus = cluster.nodes * cluster.system_spec.gpus_per_node;  // colocated replicas: the main system's
  ServingSpec s;
  s.system = cluster.system;
  s.model = resolve_model(model, catalog, true);
  n.expect_only({"engine", "precision", "kv_dtype", "replicas", "parallelism", "placement", "scheduler", "router",
                 "admission", "slo", "workload", "moe", "disaggregation", "speculative", "cost", "kv_offload"});
  const auto disaggregated = n.find("disaggregation");
  if (disaggregated)
    for (const char* key : {"replicas", "parallelism", "placement"})
      if (auto k = n.find(key))
        k->fail(fmt::format("with disaggregation, {} belongs to each pool (serving.disaggregation.prefill / .decode)", key));
  if (auto e = n.find("engine")) {
    const std::string name = e->as_choice({"vllm", "sglang", "trtllm"});
    s.engine = name == "vllm" ? ServingEngine::vllm : name == "sglang" ? ServingEngine::sglang : ServingEngine::trtllm;
  }
  if (auto p = n.find("precision")) {
    s.precision = p->as_choice({"bf16", "fp16", "fp8", "fp4"});
    if (!gpu.dense_flops.count(s.precision) && s.precision != "fp16")
      p->fail(fmt::format("GPU {} has no {} tensor cores in the catalog; it has: {}", gpu.id, s.precision, [&] {
        std::string d;
        for (const auto& [k, v] : gpu.dense_flops) d += (d.empty() ? "" : ", ") + k;
        return d;
      }()));
  }
  if (auto k = n.find("kv_dtype")) s.kv_dtype = k->as_choice({"bf16", "fp16", "fp8"});
  if (auto r = n.find("replicas")) s.replicas = bounded_int(*r, 1, 1'000'000);
  if (auto p = n.find("parallelism")) parse_parallelism(*p, s);
  if (auto mo = n.find("moe")) {
    if (!s.model.is_moe()) mo->fail(fmt::format("serving.moe applies to mixture-of-experts models; {} is dense", s.model.id));
    mo->expect_only({"routing"});
    if (auto r = mo->find("routing")) s.routing = parse_routing(*r, s.model.moe.experts);
  }
  if (auto sp = n.find("speculative")) parse_speculative(*sp, s, catalog);
  const int64_t needed = int64_t(s.replicas) * s.gpus_per_replica();
  if (!disaggregated && needed > total_gpus)
    (n.has("replicas") ? n.at("replicas") : n).fail(fmt::format(
        "replicas x tp x pp = {} x {} x {} = {} GPUs, but the cluster has {}", s.replicas, s.tp, s.pp, needed, total_gpus));
  if (auto p = n.find("placement")) parse_placement(*p, s, 0, total_gpus);
  auto& sch = s.scheduler;
  apply_engine_defaults(s, gpu);
  if (auto c = n.find("scheduler")) parse_scheduler(*c, sch);
  default_overhead(s);
  if (auto r = n.find("router")) {
    const std::vector<std::string> policies{"round_robin", "least_requests", "least_kv", "prefix_aware", "power_of_two", "cost"};
    if (r->is_scalar()) {
      s.router.policy = r->as_choice(policies);
    } else {
      r->expect_only({"policy", "weights"});
      s.router.policy = r->at("policy").as_choice(policies);
      if (auto w = r->find("weights")) {
        if (s.router.policy != "cost") w->fail("weights belong to the cost router (policy: cost)");
        w->expect_only({"occupancy", "active", "cache_match", "mem_bw", "recent_prefix"});
        auto weight = [&](const char* key, double& out) {
          if (auto v = w->find(key)) {
            out = v->as_double();
            if (!(out >= 0) || !std::isfinite(out)) v->fail("must be a non-negative number");
          }
        };
        weight("occupancy", s.router.w_occupancy);
        weight("active", s.router.w_active);
        weight("cache_match", s.router.w_cache);
        weight("mem_bw", s.router.w_mem_bw);
        weight("recent_prefix", s.router.w_recent_prefix);
      }
    }
  }
  if (auto a = n.find("admission")) {
    a->expect_only({"policy", "reject_priority"});
    s.admission.policy = a->at("policy").as_choice({"none", "estimated_ttft"});
    if (auto p = a->find("reject_priority")) s.admission.reject_priority = bounded_int(*p, 0, 1000);
  }
  if (auto l = n.find("slo")) {
    l->expect_only({"ttft_ms", "tpot_ms", "percentile"});
    if (auto v = l->find("ttft_ms")) s.slo.ttft_s = positive(*v) * 1e-3;
    if (auto v = l->find("tpot_ms")) s.slo.tpot_s = positive(*v) * 1e-3;
    if (auto v = l->find("percentile")) {
      s.slo.percentile = v->as_double();
      if (!(s.slo.percentile > 0 && s.slo.percentile < 100)) v->fail("must be between 0 and 100 (exclusive)");
    }
  }
  s.workload = parse_workload(n.at("workload"));
  // Last, so each pool copies the router, SLO and workload too.
  if (disaggregated) parse_disaggregation(*disaggregated, s, cluster);
  if (auto c = n.find("cost")) parse_cost(*c, s, catalog, cluster);
  if (auto o = n.find("kv_offload")) parse_kv_offload(*o, s, cluster);
  return s;
}

}  // namespace foresight::sim
