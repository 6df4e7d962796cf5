#include "sim/training/training_spec.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/memory_budget.hpp"
#include "core/units.hpp"
#include "sim/model/model_choice.hpp"
#include "sim/model/param_counts.hpp"

namespace foresight::sim {

int TrainingSpec::layers_in_virtual_stage(int vstage) const {
  const int vstages = virtual_stages();
  if (par.first_stage_layers > 0 || par.last_stage_layers > 0) {  // uneven split (vpp 1, validated)
    const int first = par.first_stage_layers, last = par.last_stage_layers;
    const int middle_stages = vstages - (first > 0 ? 1 : 0) - (last > 0 ? 1 : 0);
    const int middle = middle_stages > 0 ? (model.layers - first - last) / middle_stages : 0;
    if (vstage == 0 && first > 0) return first;
    if (vstage == vstages - 1 && last > 0) return last;
    return middle;
  }
  const int slots = model.layers + (par.account_for_embedding ? 1 : 0) + (par.account_for_loss ? 1 : 0);
  int n = slots / vstages;
  if (par.account_for_embedding && vstage == 0) --n;
  if (par.account_for_loss && vstage == vstages - 1) --n;
  return n;
}

static int read_int(const YamlNode& node, const char* key, int fallback) {
  auto v = node.find(key);
  return v ? static_cast<int>(v->as_int_in(1, 1 << 20)) : fallback;  // no plan has a million-way dimension
}

static bool read_bool(const YamlNode& node, const char* key, bool fallback) {
  auto v = node.find(key);
  return v ? v->as_bool() : fallback;
}

// The node to blame for a cross-field error: the key itself when present, else its parent.
static YamlNode blame(const YamlNode& training, const std::string& dotted) {
  YamlNode cur = training;
  size_t start = 0;
  while (start <= dotted.size()) {
    const size_t dot = dotted.find('.', start);
    const std::string part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    auto next = cur.is_map() ? cur.find(part) : std::nullopt;
    if (!next) return cur;
    cur = *next;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

// Expert parallelism folds over the tp*cp*dp ranks of a stage (parallel_dims.hpp).
static void validate_expert_parallelism(const TrainingSpec& s, const YamlNode& t) {
  const auto& p = s.par;
  const auto& m = s.model;
  if (!m.is_moe()) {
    for (const char* key : {"ep", "etp"})
      if (p.size(*parse_dim(key)) > 1)
        blame(t, std::string("parallelism.") + key)
            .fail(fmt::format("{} = {} needs a mixture-of-experts model; {} is dense", key, p.size(*parse_dim(key)), m.id));
    return;
  }
  if (s.zero == 3)
    blame(t, "zero").fail("zero: 3 with a mixture-of-experts model is not modelled (expert parameters would be "
                          "gathered over expert DP); use zero 1 or 2");
  const int ranks = p.tp * p.cp * p.dp;
  if (ranks % (p.ep * p.etp) != 0)
    blame(t, p.etp > 1 ? "parallelism.etp" : "parallelism.ep").fail(fmt::format(
        "ep*etp = {}*{} must divide tp*cp*dp = {}*{}*{} = {} (expert groups fold over a stage's ranks)", p.ep, p.etp,
        p.tp, p.cp, p.dp, ranks));
  if (m.moe.expert_ffn_hidden % p.etp != 0)
    blame(t, "parallelism.etp").fail(fmt::format("model.moe.expert_ffn_hidden = {} is not divisible by etp = {}",
                                                 m.moe.expert_ffn_hidden, p.etp));
  if (m.moe.experts % p.ep != 0)
    blame(t, "parallelism.ep").fail(fmt::format("model.moe.experts = {} is not divisible by ep = {}", m.moe.experts, p.ep));
  // Megatron-core requires sequence parallelism for MoE with TP: each TP rank routes its own
  // sequence shard; without it the TP ranks would dispatch the same tokens tp times.
  if (p.tp > 1 && !p.sequence_parallel)
    blame(t, "parallelism.tp").fail("a mixture-of-experts model with tp > 1 needs parallelism.sequence_parallel: true");
}

void validate_training(TrainingSpec& s, const YamlNode& t, int total_gpus, int nvlink_domain) {
  const auto& p = s.par;
  const auto& m = s.model;
  const int64_t product = p.gpus();
  if (product != total_gpus)
    blame(t, "parallelism").fail(fmt::format(
        "tp*pp*dp*cp = {}*{}*{}*{} = {} but the cluster has {} GPUs", p.tp, p.pp, p.dp, p.cp, product, total_gpus));
  const int slots = m.layers + (p.account_for_embedding ? 1 : 0) + (p.account_for_loss ? 1 : 0);
  const bool uneven = p.first_stage_layers > 0 || p.last_stage_layers > 0;
  if (uneven) {
    const char* key = p.first_stage_layers > 0 ? "parallelism.first_stage_layers" : "parallelism.last_stage_layers";
    if (p.vpp != 1 || p.account_for_embedding || p.account_for_loss)
      blame(t, key).fail("an uneven pipeline split needs vpp 1 and no embedding/loss accounting");
    const int middle_stages = p.pp - (p.first_stage_layers > 0 ? 1 : 0) - (p.last_stage_layers > 0 ? 1 : 0);
    const int rest = m.layers - p.first_stage_layers - p.last_stage_layers;
    if (middle_stages < 0 || rest < 0 || (middle_stages == 0 ? rest != 0 : rest % middle_stages != 0 || rest == 0))
      blame(t, key).fail(fmt::format(
          "model.layers = {} less first_stage_layers {} and last_stage_layers {} leaves {} layers, which the {} "
          "other stage(s) cannot hold evenly", m.layers, p.first_stage_layers, p.last_stage_layers, rest,
          std::max(middle_stages, 0)));
  } else if (slots % (p.pp * p.vpp) != 0)
    blame(t, "parallelism.pp").fail(fmt::format(
        "model.layers{} = {} is not divisible by pp*vpp = {}*{} = {}",
        (p.account_for_embedding || p.account_for_loss) ? " (+ embedding/loss slots)" : "", slots, p.pp, p.vpp,
        p.pp * p.vpp));
  if (s.layers_in_virtual_stage(0) <= 0 || s.layers_in_virtual_stage(p.pp * p.vpp - 1) <= 0)
    blame(t, "parallelism.pp").fail("a pipeline stage would hold no transformer layer");
  if (s.global_batch % (int64_t(p.dp) * s.micro_batch) != 0)
    blame(t, "global_batch").fail(fmt::format(
        "training.global_batch = {} is not divisible by dp*micro_batch = {}*{} = {}", s.global_batch, p.dp,
        s.micro_batch, int64_t(p.dp) * s.micro_batch));
  validate_expert_parallelism(s, t);
  if (m.heads % p.tp != 0)
    blame(t, "parallelism.tp").fail(fmt::format("model.heads = {} is not divisible by tp = {}", m.heads, p.tp));
  if (m.kv_heads % p.tp != 0 && p.tp % m.kv_heads != 0)
    blame(t, "parallelism.tp").fail(fmt::format(
        "model.kv_heads = {} and tp = {}: one must divide the other (KV heads are split, or replicated when tp > kv_heads)",
        m.kv_heads, p.tp));
  if (m.ffn_hidden % p.tp != 0)
    blame(t, "parallelism.tp").fail(fmt::format("model.ffn_hidden = {} is not divisible by tp = {}", m.ffn_hidden, p.tp));
  if (s.sequence_length % (2 * p.cp) != 0 && p.cp > 1)
    blame(t, "parallelism.cp").fail(fmt::format(
        "training.sequence_length = {} is not divisible by 2*cp = {} (load-balanced causal context parallelism)",
        s.sequence_length, 2 * p.cp));
  if (s.schedule == "interleaved") {
    if (p.vpp < 2) blame(t, "parallelism.vpp").fail("schedule 'interleaved' needs parallelism.vpp >= 2");
    if (p.pp < 2) blame(t, "parallelism.pp").fail("schedule 'interleaved' needs parallelism.pp >= 2");
    if (s.microbatches() % p.pp != 0)
      blame(t, "global_batch").fail(fmt::format(
          "the interleaved schedule needs microbatches (global_batch/(dp*micro_batch) = {}) divisible by pp = {}",
          s.microbatches(), p.pp));
  } else if (p.vpp != 1) {
    blame(t, "parallelism.vpp").fail(fmt::format("vpp = {} requires schedule: interleaved", p.vpp));
  }
  if (s.dualpipe()) {
    // DualPipe feeds half the microbatches from each end and needs both halves to fill the
    // pipeline: pp even, microbatches even and at least 2*pp (dualpipe.py's own checks).
    if (p.pp < 2 || p.pp % 2 != 0)
      blame(t, "parallelism.pp").fail(fmt::format("schedule 'dualpipe' needs an even pp >= 2, not {}", p.pp));
    if (s.microbatches() % 2 != 0 || s.microbatches() < 2 * p.pp)
      blame(t, "global_batch").fail(fmt::format(
          "schedule 'dualpipe' needs an even number of microbatches, at least 2*pp = {}; "
          "global_batch/(dp*micro_batch) = {}", 2 * p.pp, s.microbatches()));
    if (s.zero == 3) blame(t, "zero").fail("zero: 3 with schedule 'dualpipe' is not modelled");
  }
  if (s.overlap_ep_comm && s.schedule != "1f1b")
    blame(t, "overlap.ep_comm").fail(fmt::format(
        "overlapped forward/backward pairs are modelled for schedule 1f1b (dualpipe always overlaps); schedule is {}",
        s.schedule));
  if (s.overlap_ep_comm && s.zero == 3) blame(t, "overlap.ep_comm").fail("overlap.ep_comm with zero: 3 is not modelled");
  // Work before allocation: the task graph holds about 40 tasks per layer and pass of each stage's
  // representative rank (forward, backward, recompute), and a DP bucket per dp_bucket bytes of
  // gradients; both are checked here, where the keys that size them can be named, instead of
  // running out of memory minutes later. ~200 B per task (30 M tasks is about 6 GB), against the
  // run's memory budget (core/memory_budget.hpp).
  constexpr double kBytesPerTask = 200, kMaxBuckets = 1e6;
  const double passes = double(s.microbatches()) * m.layers * (s.recompute == "full" ? 3 : 2);
  const MemoryBudget budget = memory_budget();
  if (passes * 40 * kBytesPerTask > budget.bytes)
    blame(t, "global_batch").fail(fmt::format(
        "{} microbatches x {} layers make about {:.3g} simulated tasks, about {} (budget {}: {}); lower "
        "global_batch or raise micro_batch", s.microbatches(), m.layers, passes * 40,
        units::format_bytes(passes * 40 * kBytesPerTask), units::format_bytes(budget.bytes), budget.source));
  const double grad_bytes_per_stage = 4.0 * count_params(m).total / (double(p.pp) * p.tp);
  if (p.dp > 1 && grad_bytes_per_stage / s.dp_bucket_bytes > kMaxBuckets)
    blame(t, "dp_bucket").fail(fmt::format(
        "dp_bucket = {:.0f} B makes {:.3g} gradient buckets per stage (limit {:.0f}); use at least {:.0f} B",
        s.dp_bucket_bytes, grad_bytes_per_stage / s.dp_bucket_bytes, kMaxBuckets,
        std::ceil(grad_bytes_per_stage / kMaxBuckets)));
  if (p.tp > nvlink_domain)
    s.warnings.push_back(fmt::format(
        "tp = {} exceeds the NVLink domain ({} GPUs): tensor-parallel collectives cross the scale-out network",
        p.tp, nvlink_domain));
}

static std::vector<ParallelDim> parse_order(const YamlNode& node) {
  std::vector<std::string> names;
  for (const auto& info : kParallelDimTable)
    if (info.placed) names.push_back(info.name);
  std::vector<ParallelDim> order;
  PerDim<int> seen{};
  for (const auto& item : node.items()) {
    const ParallelDim d = *parse_dim(item.as_choice(names));
    ++seen[index(d)];
    order.push_back(d);
  }
  for (const auto& info : kParallelDimTable)
    if (info.placed && seen[index(info.dim)] != 1)
      node.fail(fmt::format("must list each of {} exactly once (innermost first)", dim_names(true)));
  return order;
}

TrainingSpec parse_training(const YamlNode& model, const YamlNode& t, const hw::Catalog& catalog, int total_gpus,
                            int nvlink_domain) {
  TrainingSpec s;
  s.model = resolve_model(model, catalog, true);
  t.expect_only({"sequence_length", "global_batch", "micro_batch", "precision", "parallelism", "zero", "recompute",
                 "schedule", "overlap", "dp_bucket", "attention", "grad_reduce_dtype", "moe"});
  s.sequence_length = t.at("sequence_length").as_int_in(1, 1 << 24);   // 16 M tokens
  s.global_batch = t.at("global_batch").as_int_in(1, 1 << 24);         // sequences per iteration
  s.micro_batch = t.has("micro_batch") ? t.at("micro_batch").as_int_in(1, 1 << 16) : 1;
  if (auto v = t.find("precision")) s.precision = v->as_choice({"bf16", "fp16", "fp8"});
  if (auto p = t.find("parallelism")) {
    std::vector<std::string> keys{"vpp", "sequence_parallel", "order", "account_for_embedding_in_pipeline_split",
                                  "account_for_loss_in_pipeline_split", "first_stage_layers", "last_stage_layers"};
    for (const auto& info : kParallelDimTable) keys.push_back(info.name);
    p->expect_only(keys);
    for (const auto& info : kParallelDimTable) s.par.size(info.dim) = read_int(*p, info.name, 1);
    s.par.vpp = p->has("vpp") ? static_cast<int>(p->at("vpp").as_int_in(1, 1024)) : 1;
    s.par.sequence_parallel = read_bool(*p, "sequence_parallel", false);
    s.par.account_for_embedding = read_bool(*p, "account_for_embedding_in_pipeline_split", false);
    s.par.account_for_loss = read_bool(*p, "account_for_loss_in_pipeline_split", false);
    if (auto o = p->find("order")) s.par.order = parse_order(*o);
    if (auto v = p->find("first_stage_layers")) s.par.first_stage_layers = int(v->as_int_in(1, hw::kMaxLayers));
    if (auto v = p->find("last_stage_layers")) s.par.last_stage_layers = int(v->as_int_in(1, hw::kMaxLayers));
  }
  if (auto v = t.find("zero")) {
    s.zero = static_cast<int>(v->as_int_in(0, 3));
  }
  if (auto v = t.find("recompute")) s.recompute = v->as_choice({"none", "selective", "full"});
  if (auto v = t.find("schedule")) s.schedule = v->as_choice({"gpipe", "1f1b", "interleaved", "dualpipe"});
  if (auto o = t.find("overlap")) {
    o->expect_only({"dp_grad_reduce", "dp_param_gather", "tp_comm", "ep_comm"});
    s.overlap_dp_grad_reduce = read_bool(*o, "dp_grad_reduce", true);
    s.overlap_dp_param_gather = read_bool(*o, "dp_param_gather", true);
    s.overlap_tp_comm = read_bool(*o, "tp_comm", false);
    s.overlap_ep_comm = read_bool(*o, "ep_comm", false);
  }
  if (auto v = t.find("dp_bucket")) {
    s.dp_bucket_bytes = v->as_quantity(units::Dimension::bytes);
    if (s.dp_bucket_bytes <= 0) v->fail("must be larger than 0 B");
  }
  if (auto v = t.find("attention")) s.attention_kernel = v->as_choice({"flash", "unfused"});
  if (auto v = t.find("grad_reduce_dtype")) s.grad_reduce_dtype = v->as_choice({"fp32", "bf16", "fp16"});
  if (auto mo = t.find("moe")) {
    if (!s.model.is_moe()) mo->fail(fmt::format("training.moe applies to mixture-of-experts models; {} is dense", s.model.id));
    mo->expect_only({"dispatcher", "routing"});
    if (auto d = mo->find("dispatcher")) s.moe_dispatcher = d->as_choice({"alltoall", "deepep"});
    if (auto r = mo->find("routing")) s.routing = parse_routing(*r, s.model.moe.experts);
  }
  validate_training(s, t, total_gpus, nvlink_domain);
  return s;
}

nlohmann::json TrainingSpec::describe() const {
  nlohmann::json j{{"model", model.id},
                   {"layers", model.layers},
                   {"hidden", model.hidden},
                   {"heads", model.heads},
                   {"kv_heads", model.kv_heads},
                   {"ffn_hidden", model.ffn_hidden},
                   {"vocab", model.vocab},
                   {"sequence_length", sequence_length},
                   {"global_batch", global_batch},
                   {"micro_batch", micro_batch},
                   {"precision", precision},
                   {"grad_reduce_dtype", grad_dtype()},
                   {"vpp", par.vpp},
                   {"sequence_parallel", par.sequence_parallel},
                   {"zero", zero},
                   {"recompute", recompute},
                   {"schedule", schedule},
                   {"attention", attention_kernel}};
  for (const auto& info : kParallelDimTable) j[info.name] = par.size(info.dim);
  if (model.is_moe()) {
    j["moe"] = {{"experts", model.moe.experts}, {"top_k", model.moe.top_k}, {"shared_experts", model.moe.shared_experts},
                {"dispatcher", moe_dispatcher}, {"routing", routing.describe()}};
  }
  return j;
}

}  // namespace foresight::sim
