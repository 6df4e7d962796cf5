#include "sim/training/training_graph.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <map>
#include <queue>
#include <stdexcept>

#include <fmt/format.h>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "sim/training/layer_ops.hpp"
#include "sim/training/model_math.hpp"
#include "sim/training/routed_timing.hpp"

namespace foresight::sim {

const char* stream_name(int stream) {
  if (stream == kCompute) return "compute";
  if (stream == kPpBwdStream) return "pp send bwd";
  if (stream == kDpParamStream) return "dp param";
  for (const auto& info : kParallelDimTable)
    if (info.stream == stream) return info.stream_label;
  return "stream";
}

namespace {

TaskId push(TaskGraph& g, Task t) {
  g.tasks().push_back(std::move(t));
  return TaskId(g.tasks().size() - 1);
}

int first_layer_of(const TrainingSpec& s, int vstage) {
  int first = 0;
  for (int u = 0; u < vstage; ++u) first += s.layers_in_virtual_stage(u);
  return first;
}

bool is_moe_layer(const TrainingSpec& s, int layer) { return s.model.is_moe() && layer >= s.model.moe.first_dense_layers; }

int moe_layers_in(const TrainingSpec& s, int vstage) {
  const int first = first_layer_of(s, vstage);
  int n = 0;
  for (int l = first; l < first + s.layers_in_virtual_stage(vstage); ++l) n += is_moe_layer(s, l) ? 1 : 0;
  return n;
}

// Parameters of one layer held per GPU outside the routed experts (TP-sharded), and of its routed
// experts (experts/ep of them, not TP-sharded).
double layer_dense_params(const TrainingSpec& s, const ParamCounts& c, int layer) {
  return (is_moe_layer(s, layer) ? c.moe_layer_dense : c.per_layer) / s.par.tp;
}
double layer_expert_params(const TrainingSpec& s, const ParamCounts& c, int layer) {
  return is_moe_layer(s, layer) ? c.expert * (s.model.moe.experts / s.par.ep) : 0.0;
}

// Parameters one GPU holds of a virtual stage, outside the routed experts (reduced over DP).
double chunk_params_per_gpu(const TrainingSpec& s, int vstage) {
  const ParamCounts c = count_params(s.model);
  const int last = s.par.pp * s.par.vpp - 1;
  const int first = first_layer_of(s, vstage);
  double p = 0;
  for (int l = first; l < first + s.layers_in_virtual_stage(vstage); ++l) p += layer_dense_params(s, c, l);
  double extra = 0;
  if (vstage == 0) extra += c.embedding;
  // With tied embeddings and pp > 1 the last stage keeps its own copy of the word embeddings.
  if (vstage == last) extra += c.final_norm + (s.model.tied_embeddings ? (last > 0 ? c.embedding : 0.0) : c.output);
  return p + extra / s.par.tp;
}

// Routed-expert parameters one GPU holds of a virtual stage (reduced over expert DP).
double chunk_expert_params_per_gpu(const TrainingSpec& s, int vstage) {
  return moe_layers_in(s, vstage) * count_params(s.model).expert * (s.model.is_moe() ? s.model.moe.experts / s.par.ep : 0);
}

Placement::Coord stage_coord(int stage) {
  Placement::Coord c{};
  c[index(ParallelDim::pp)] = stage;
  return c;
}

double grad_comm_bytes(const TrainingSpec& s) { return dtype_size(s.grad_dtype()); }

struct TimedTemplate {
  const WorkTemplate* items = nullptr;
  std::vector<double> seconds;
  std::vector<bool> waited;   // a later item of the same template waits for this comm
};

TimedTemplate time_template(const WorkTemplate& t, const hw::ComputeCostModel& cost) {
  TimedTemplate out;
  out.items = &t;
  out.seconds.resize(t.size(), 0.0);
  out.waited.resize(t.size(), false);
  for (size_t i = 0; i < t.size(); ++i) {
    const auto& w = t[i];
    if (w.kind == WorkItem::Kind::gemm) out.seconds[i] = cost.gemm(w.gemm).seconds;
    else if (w.kind == WorkItem::Kind::attention) out.seconds[i] = cost.attention(w.attn).seconds;
    else if (w.kind == WorkItem::Kind::memory) out.seconds[i] = cost.memory_op(w.mem).seconds;
    for (int d : w.waits) out.waited[d] = true;
  }
  return out;
}

struct Templates {
  TimedTemplate layer_fwd, layer_bwd, embed_fwd, embed_bwd, head_fwd, head_bwd, moe_fwd, moe_bwd;
};

// A routed template's instance: its drawn timing and the token fan-out of its dispatches.
struct Routed {
  const RoutedInstance* timing = nullptr;
  FanOut fan_out;
  bool hierarchical = false;
};

struct StepRecord {
  TaskId entry = -1, send = -1;
};

// Emits one stage's tasks. `carry` holds communication the next compute task must wait for, so
// collectives that end a template still gate the following work.
class StageEmitter {
 public:
  StageEmitter(TaskGraph& g, const Placement& pl, int stage, bool replicate_dp) : g_(g) {
    const Placement::Coord c = stage_coord(stage);
    // The other TP/CP positions of this stage run their own DP collectives at the same moments;
    // with a network model that shares links they must exist to compete for bandwidth.
    if (replicate_dp)
      for (int cp = 0; cp < pl.size(ParallelDim::cp); ++cp)
        for (int tp = 0; tp < pl.size(ParallelDim::tp); ++tp)
          if (tp != 0 || cp != 0) {
            Placement::Coord sib = c;
            sib[index(ParallelDim::tp)] = tp;
            sib[index(ParallelDim::cp)] = cp;
            sibling_dp_groups_.push_back(pl.group(ParallelDim::dp, sib));
          }
    rank_ = pl.global(c);
    for (const auto& info : kParallelDimTable) groups_[index(info.dim)] = pl.group(info.dim, c);
    expert_dp_group_ = pl.expert_dp_group(c);
  }

  int rank() const { return rank_; }
  TaskId last_compute() const { return last_compute_; }
  std::vector<TaskId>& carry() { return carry_; }
  void begin_step() { first_in_step_ = -1; }
  TaskId step_entry() const { return first_in_step_; }

  // Labels every task added from now on (trace slices by microbatch, layer and pass).
  void at(int microbatch, int chunk, int layer, bool forward) { mb_ = microbatch, chunk_ = chunk, layer_ = layer, fwd_ = forward; }

  TaskId add(Task t) {
    t.rank = rank_;
    t.microbatch = mb_, t.chunk = chunk_, t.layer = layer_, t.forward = fwd_;
    const TaskId id = push(g_, std::move(t));
    if (first_in_step_ < 0) first_in_step_ = id;
    return id;
  }

  // Returns the first compute task of the instantiation (the "layer start").
  TaskId instantiate(const TimedTemplate& tt, const Routed& routed = {}) {
    const auto& items = *tt.items;
    std::vector<TaskId> ids(items.size(), -1);
    TaskId first_compute = -1;
    for (size_t i = 0; i < items.size(); ++i) {
      const WorkItem& w = items[i];
      Task t;
      t.name = w.name;
      t.category = w.category;
      if (w.kind == WorkItem::Kind::comm) {
        t.kind = Task::Kind::collective;
        t.stream = dim_info(w.group).stream;
        t.collective.op = w.op;
        t.collective.bytes = w.bytes;
        t.collective.ranks = groups_[index(w.group)];
        if (w.routed == WorkItem::Routed::dispatch && routed.timing) {
          // The busiest rank receives dispatch_scale times the mean: the all-to-all ends with it.
          t.collective.bytes *= routed.timing->dispatch_scale;
          if (routed.hierarchical) {
            t.collective.algorithm = "hierarchical";
            t.collective.fan_out_nodes = std::round(routed.fan_out.nodes * 1000.0) / 1000.0;
            t.collective.fan_out_ranks_per_node = std::round(routed.fan_out.ranks_per_node * 1000.0) / 1000.0;
          }
        }
        if (last_compute_ >= 0) t.deps.push_back(last_compute_);
        ids[i] = add(std::move(t));
        if (!tt.waited[i]) carry_.push_back(ids[i]);
      } else {
        t.kind = Task::Kind::compute;
        t.stream = kCompute;
        t.duration_s = w.routed != WorkItem::Routed::none && routed.timing ? routed.timing->seconds[i] : tt.seconds[i];
        for (int d : w.waits) t.deps.push_back(ids[d]);
        t.deps.insert(t.deps.end(), carry_.begin(), carry_.end());
        carry_.clear();
        ids[i] = add(std::move(t));
        last_compute_ = ids[i];
        if (first_compute < 0) first_compute = ids[i];
      }
    }
    return first_compute;
  }

  TaskId collective(const std::string& name, const std::string& category, int stream, CollectiveOp op, double bytes,
                    std::vector<int> ranks, std::vector<TaskId> deps) {
    Task t;
    t.kind = Task::Kind::collective;
    t.name = name;
    t.category = category;
    t.stream = stream;
    t.collective.op = op;
    t.collective.bytes = bytes;
    t.collective.ranks = std::move(ranks);
    t.deps = std::move(deps);
    return add(std::move(t));
  }

  // expert: over the expert-data-parallel group (routed-expert parameters). Flow fidelity gets the
  // other TP/CP positions' dense DP traffic; their expert-DP peers are not replicated.
  TaskId dp_collective(const std::string& name, int stream, CollectiveOp op, double bytes, std::vector<TaskId> deps,
                       bool expert = false) {
    if (expert) return collective(name, dim_name(ParallelDim::dp), stream, op, bytes, expert_dp_group_, std::move(deps));
    const TaskId first_in_step = first_in_step_;
    for (const auto& group : sibling_dp_groups_) {
      Task t;
      t.kind = Task::Kind::collective;
      t.name = name;
      t.category = dim_name(ParallelDim::dp);
      t.stream = stream;
      t.rank = group.front();
      t.collective.op = op;
      t.collective.bytes = bytes;
      t.collective.ranks = group;
      t.deps = deps;
      push(g_, std::move(t));
    }
    first_in_step_ = first_in_step;
    return collective(name, dim_name(ParallelDim::dp), stream, op, bytes, groups_[index(ParallelDim::dp)], std::move(deps));
  }
  int dp_size() const { return int(groups_[index(ParallelDim::dp)].size()); }
  int expert_dp_size() const { return int(expert_dp_group_.size()); }
  const std::vector<int>& ep_group() const { return groups_[index(ParallelDim::ep)]; }

 private:
  TaskGraph& g_;
  int rank_ = 0;
  PerDim<std::vector<int>> groups_;   // this stage's communicator in each dimension
  std::vector<std::vector<int>> sibling_dp_groups_;
  std::vector<int> expert_dp_group_;
  std::vector<TaskId> carry_;
  TaskId last_compute_ = -1;
  TaskId first_in_step_ = -1;
  int mb_ = -1, chunk_ = -1, layer_ = -1;
  bool fwd_ = true;
};

// Gradient buckets fill in backward order as each layer's weight gradients become final (during
// the last microbatch's backward of that chunk) and are reduced as soon as they are full.
class GradBuckets {
 public:
  GradBuckets(StageEmitter& e, const TrainingSpec& s, std::vector<TaskId>& issued, bool expert = false)
      : e_(e), s_(s), issued_(issued), expert_(expert) {}
  void add(double params) {
    pending_ += params * grad_comm_bytes(s_);
    if (pending_ >= s_.dp_bucket_bytes) flush();
  }
  void flush() {
    if (pending_ <= 0 || (expert_ ? e_.expert_dp_size() : e_.dp_size()) <= 1) {
      pending_ = 0;
      return;
    }
    const CollectiveOp op = s_.zero == 0 ? CollectiveOp::all_reduce : CollectiveOp::reduce_scatter;
    std::vector<TaskId> deps;
    if (e_.last_compute() >= 0) deps.push_back(e_.last_compute());
    const std::string name = std::string(expert_ ? "expert_" : "") + (s_.zero == 0 ? "dp_grad_all_reduce" : "dp_grad_reduce_scatter");
    issued_.push_back(e_.dp_collective(name, kDpGradStream, op, pending_, deps, expert_));
    pending_ = 0;
  }

 private:
  StageEmitter& e_;
  const TrainingSpec& s_;
  std::vector<TaskId>& issued_;
  bool expert_ = false;
  double pending_ = 0;
};

// Executors may require every dependency to be submitted before its dependents (the flow executor
// does); the builder adds cross-stage edges to tasks it created earlier, so renumber the graph in a
// topological order that keeps each (rank, stream)'s order and otherwise the creation order.
void sort_topologically(TaskGraph& g) {
  auto& tasks = g.tasks();
  const size_t n = tasks.size();
  std::vector<std::vector<int>> succ(n);
  std::vector<int> indegree(n, 0);
  std::map<std::pair<int, int>, int> last;
  for (size_t i = 0; i < n; ++i) {
    for (TaskId d : tasks[i].deps) succ[d].push_back(int(i)), ++indegree[i];
    auto [it, fresh] = last.try_emplace({tasks[i].rank, tasks[i].stream}, int(i));
    if (!fresh) succ[it->second].push_back(int(i)), ++indegree[i], it->second = int(i);
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < n; ++i)
    if (indegree[i] == 0) ready.push(int(i));
  std::vector<int> order;
  order.reserve(n);
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int s : succ[i])
      if (--indegree[s] == 0) ready.push(s);
  }
  if (order.size() != n) throw std::logic_error("training task graph has a cycle");
  std::vector<int> new_id(n);
  for (size_t k = 0; k < n; ++k) new_id[order[k]] = int(k);
  std::vector<Task> sorted;
  sorted.reserve(n);
  for (int i : order) {
    Task t = std::move(tasks[i]);
    for (TaskId& d : t.deps) d = new_id[d];
    sorted.push_back(std::move(t));
  }
  tasks = std::move(sorted);
}

}  // namespace

double stage_params_per_gpu(const TrainingSpec& s, int stage) {
  double p = 0;
  for (int c = 0; c < s.par.vpp; ++c) p += chunk_params_per_gpu(s, c * s.par.pp + stage);
  return p;
}

double stage_expert_params_per_gpu(const TrainingSpec& s, int stage) {
  double p = 0;
  for (int c = 0; c < s.par.vpp; ++c) p += chunk_expert_params_per_gpu(s, c * s.par.pp + stage);
  return p;
}

TrainingGraphInfo build_training_graph(const TrainingSpec& s, const hw::ComputeCostModel& cost, TaskGraph& g,
                                       bool replicate_dp, int nvlink_domain) {
  const int pp = s.par.pp, vpp = s.par.vpp, vstages = pp * vpp;
  const int m = int(s.microbatches());
  const Placement pl(s.par);
  const MicrobatchWork work = build_microbatch_work(s);
  const Templates tpl{time_template(work.layer_fwd, cost),     time_template(work.layer_bwd, cost),
                      time_template(work.embed_fwd, cost),     time_template(work.embed_bwd, cost),
                      time_template(work.head_fwd, cost),      time_template(work.head_bwd, cost),
                      time_template(work.moe_layer_fwd, cost), time_template(work.moe_layer_bwd, cost)};
  const ParamCounts pc = count_params(s.model);
  const double act_bytes = 2.0;
  // Scatter/gather optimisation (Narayanan et al. 2021, sec. 4.1) and sequence parallelism both
  // send 1/tp of the boundary activation per TP rank.
  const double boundary_bytes = double(s.micro_batch) * s.sequence_length / s.par.cp * s.model.hidden * act_bytes / s.par.tp;

  TrainingGraphInfo info;
  info.schedule = pipeline_schedule(s.schedule, pp, vpp, m);
  std::vector<StepRecord> steps(size_t(2) * vpp * m * pp);
  auto step_index = [&](bool fwd, int mb, int chunk, int stage) {
    return ((size_t(fwd ? 1 : 0) * vpp + chunk) * m + mb) * pp + stage;
  };
  std::vector<StageEmitter> emitters;
  emitters.reserve(pp);
  std::vector<std::vector<TaskId>> dp_tasks(pp);
  std::vector<std::vector<TaskId>> param_gathers(size_t(pp) * vpp);

  // Mixture of experts: the EP group's ranks by NVLink domain, and one routing draw per
  // (layer, microbatch) shared by its forward, recomputation and backward.
  std::unique_ptr<RoutedTimer> router;
  std::map<std::pair<int, int>, RoutedInstance> routed_cache;
  double dropped = 0, assigned = 0, scale_sum = 0, fan_nodes = 0, fan_ranks = 0;
  int routed_draws = 0, fan_layers = 0;
  if (s.model.is_moe()) {
    const std::vector<int> ep_ranks = pl.group(ParallelDim::ep, stage_coord(0));
    std::map<int, int> node_ids;
    std::vector<int> node_of;
    for (int r : ep_ranks) {
      const int dom = nvlink_domain > 0 ? r / nvlink_domain : 0;
      node_of.push_back(node_ids.emplace(dom, int(node_ids.size())).first->second);
    }
    if (s.moe_dispatcher == "deepep") {
      std::map<int, int> per_node;
      for (int n : node_of) ++per_node[n];
      for (const auto& [n, c] : per_node)
        if (c != per_node.begin()->second)
          throw InputError(fmt::format(
              "training.moe.dispatcher: deepep needs every node of an expert-parallel group to hold the same number "
              "of its ranks; this placement puts {} and {} in two nodes (change parallelism.order or ep)",
              per_node.begin()->second, c));
    }
    router = std::make_unique<RoutedTimer>(s, cost, node_of);
  }
  auto routed_for = [&](int layer, int mb, const TimedTemplate& tt) {
    Routed r;
    auto key = std::make_pair(layer, mb);
    auto it = routed_cache.find(key);
    if (it == routed_cache.end()) {
      it = routed_cache.emplace(key, router->time(*tt.items, layer, mb)).first;
      dropped += it->second.dropped, assigned += it->second.assignments, scale_sum += it->second.dispatch_scale;
      ++routed_draws;
    }
    r.timing = &it->second;
    r.hierarchical = s.moe_dispatcher == "deepep";
    if (r.hierarchical) r.fan_out = router->fan_out(layer);
    return r;
  };

  for (int st = 0; st < pp; ++st) {
    emitters.emplace_back(g, pl, st, replicate_dp);
    StageEmitter& e = emitters.back();
    info.stage_rank.push_back(e.rank());
    info.stage_params.push_back(stage_params_per_gpu(s, st));
    info.stage_expert_params.push_back(stage_expert_params_per_gpu(s, st));
    info.stage_routed_s.push_back(0.0);
    info.stage_balanced_s.push_back(0.0);
    const bool zero3 = s.zero == 3;
    // Distributed optimizer: updated parameters are all-gathered; overlapped with this
    // iteration's forward pass, each chunk's first forward waits for its chunk's buckets.
    if ((s.zero == 1 || s.zero == 2) && s.overlap_dp_param_gather) {
      for (int c = 0; c < vpp; ++c)
        for (bool expert : {false, true}) {
          if ((expert ? e.expert_dp_size() : e.dp_size()) <= 1) continue;
          double bytes = (expert ? chunk_expert_params_per_gpu(s, c * pp + st) : chunk_params_per_gpu(s, c * pp + st)) * act_bytes;
          while (bytes > 0) {
            const double b = std::min(bytes, s.dp_bucket_bytes);
            param_gathers[size_t(st) * vpp + c].push_back(e.dp_collective(
                expert ? "expert_dp_param_all_gather" : "dp_param_all_gather", kDpParamStream, CollectiveOp::all_gather, b, {}, expert));
            bytes -= b;
          }
        }
    }
    GradBuckets buckets(e, s, dp_tasks[st]);
    GradBuckets expert_buckets(e, s, dp_tasks[st], true);
    double deferred_grads = 0, deferred_expert_grads = 0;
    TaskId prev_layer_start = -1;
    auto gather_layer = [&](double params) {
      // FSDP-style: gather one layer ahead of its use (prefetch depth one).
      std::vector<TaskId> deps;
      if (prev_layer_start >= 0) deps.push_back(prev_layer_start);
      e.carry().push_back(e.dp_collective("zero3_param_all_gather", kDpParamStream, CollectiveOp::all_gather,
                                          params * act_bytes, deps));
    };
    for (const PipeStep& step : info.schedule[st]) {
      e.begin_step();
      const int v = step.chunk * pp + st;
      const int layers = s.layers_in_virtual_stage(v);
      const bool final_bwd = !step.forward && step.microbatch == m - 1 && !zero3;
      auto grads_ready = [&](double params, double expert_params) {
        if (!final_bwd) return;
        if (s.overlap_dp_grad_reduce) {
          buckets.add(params);
          if (expert_params > 0) expert_buckets.add(expert_params);
        } else {
          deferred_grads += params;
          deferred_expert_grads += expert_params;
        }
      };
      const int first_layer = first_layer_of(s, v);
      // One layer's pass: MoE layers take their routed timing for this microbatch.
      auto run_layer = [&](int layer, bool fwd) {
        if (!is_moe_layer(s, layer)) return e.instantiate(fwd ? tpl.layer_fwd : tpl.layer_bwd);
        const TimedTemplate& tt = fwd ? tpl.moe_fwd : tpl.moe_bwd;
        const Routed r = routed_for(layer, step.microbatch, tt);
        // The forward draw times the backward too: time the backward template with the same routing.
        const RoutedInstance inst = fwd ? *r.timing : router->time(*tt.items, layer, step.microbatch);
        Routed rr = r;
        rr.timing = &inst;
        info.stage_routed_s[size_t(st)] += inst.busiest_s;
        info.stage_balanced_s[size_t(st)] += inst.balanced_s;
        return e.instantiate(tt, rr);
      };
      e.at(step.microbatch, v, -1, step.forward);
      if (step.forward) {
        if (v == 0) e.instantiate(tpl.embed_fwd);
        for (int l = 0; l < layers; ++l) {
          const int layer = first_layer + l;
          e.at(step.microbatch, v, layer, true);
          if (zero3 && e.dp_size() > 1)
            gather_layer(layer_dense_params(s, pc, layer) + (v == 0 && l == 0 ? pc.embedding / s.par.tp : 0));
          prev_layer_start = run_layer(layer, true);
        }
        e.at(step.microbatch, v, -1, true);
        if (v == vstages - 1) e.instantiate(tpl.head_fwd);
      } else {
        const double head_params = (pc.final_norm + (s.model.tied_embeddings ? 0.0 : pc.output)) / s.par.tp;
        if (v == vstages - 1) {
          e.instantiate(tpl.head_bwd);
          grads_ready(head_params, 0.0);
        }
        for (int l = 0; l < layers; ++l) {
          const int layer = first_layer + layers - 1 - l;
          e.at(step.microbatch, v, layer, false);
          const double dense = layer_dense_params(s, pc, layer);
          if (zero3 && e.dp_size() > 1) gather_layer(dense);
          prev_layer_start = run_layer(layer, false);
          grads_ready(dense, layer_expert_params(s, pc, layer));
          if (zero3 && e.dp_size() > 1)
            dp_tasks[st].push_back(e.dp_collective("zero3_grad_reduce_scatter", kDpGradStream,
                                                   CollectiveOp::reduce_scatter, dense * grad_comm_bytes(s),
                                                   {e.last_compute()}));
        }
        e.at(step.microbatch, v, -1, false);
        if (v == 0) {
          e.instantiate(tpl.embed_bwd);
          grads_ready(pc.embedding / s.par.tp, 0.0);
        }
        if (final_bwd && s.overlap_dp_grad_reduce) {
          buckets.flush();
          expert_buckets.flush();
        }
      }
      StepRecord rec;
      rec.entry = e.step_entry();
      const bool sends = step.forward ? v < vstages - 1 : v > 0;
      if (sends) {
        const int peer = step.forward ? (st + 1) % pp : (st + pp - 1) % pp;
        std::vector<TaskId> deps{e.last_compute()};
        deps.insert(deps.end(), e.carry().begin(), e.carry().end());
        e.carry().clear();
        rec.send = e.collective(step.forward ? "pp_send_activation" : "pp_send_grad", dim_name(ParallelDim::pp),
                                step.forward ? kPpFwdStream : kPpBwdStream, CollectiveOp::send_recv, boundary_bytes,
                                {e.rank(), pl.global(stage_coord(peer))},
                                deps);
        // Megatron-LM batches each pass's send with the next receive and waits for both before
        // computing on, so a stage's next pass also waits for its own outgoing send.
        e.carry().push_back(rec.send);
      }
      steps[step_index(step.forward, step.microbatch, step.chunk, st)] = rec;
      if (step.forward && step.microbatch == 0)
        for (TaskId pg : param_gathers[size_t(st) * vpp + step.chunk]) g.tasks()[rec.entry].deps.push_back(pg);
    }
    e.at(-1, -1, -1, true);
    if (!s.overlap_dp_grad_reduce) {
      if (deferred_grads > 0) {
        buckets.add(deferred_grads);
        buckets.flush();
      }
      if (deferred_expert_grads > 0) {
        expert_buckets.add(deferred_expert_grads);
        expert_buckets.flush();
      }
    }
  }
  if (router) {
    info.dropped_fraction = assigned > 0 ? dropped / assigned : 0.0;
    info.mean_dispatch_scale = routed_draws > 0 ? scale_sum / routed_draws : 0.0;
    if (s.moe_dispatcher == "deepep")
      for (int l = s.model.moe.first_dense_layers; l < s.model.layers; ++l) {
        const FanOut f = router->fan_out(l);
        fan_nodes += f.nodes, fan_ranks += f.ranks_per_node, ++fan_layers;
      }
    if (fan_layers > 0) info.fan_out = FanOut{fan_nodes / fan_layers, fan_ranks / fan_layers};
  }

  // Cross-stage edges: a pass starts when the neighbouring virtual stage's send has arrived.
  for (int st = 0; st < pp; ++st) {
    for (const PipeStep& step : info.schedule[st]) {
      const StepRecord& rec = steps[step_index(step.forward, step.microbatch, step.chunk, st)];
      const int v = step.chunk * pp + st;
      TaskId pred = -1;
      if (step.forward && v > 0) {
        const int pv = v - 1;
        pred = steps[step_index(true, step.microbatch, pv / pp, pv % pp)].send;
      } else if (!step.forward && v < vstages - 1) {
        const int nv = v + 1;
        pred = steps[step_index(false, step.microbatch, nv / pp, nv % pp)].send;
      }
      if (pred >= 0) g.tasks()[rec.entry].deps.push_back(pred);
    }
  }

  // Tied embeddings across stages: the first and last stage sum their embedding gradients.
  TaskId tied = -1;
  if (s.model.tied_embeddings && pp > 1) {
    std::vector<TaskId> deps{emitters[0].last_compute(), emitters[pp - 1].last_compute()};
    tied = emitters[0].collective("embedding_grad_all_reduce", dim_name(ParallelDim::pp), kDpGradStream, CollectiveOp::all_reduce,
                                  pc.embedding / s.par.tp * grad_comm_bytes(s),
                                  {info.stage_rank[0], info.stage_rank[pp - 1]}, deps);
  }
  for (int st = 0; st < pp; ++st) {
    StageEmitter& e = emitters[st];
    Task opt;
    opt.name = "optimizer_step";
    opt.category = "optimizer";
    opt.stream = kCompute;
    // Adam with fp32 master weights: read grad, master, m, v and write master, m, v, 16-bit copy
    // (30 B/param), plus a gradient-norm pass (4 B/param).
    const double shard = info.stage_params[st] / (s.zero >= 1 ? e.dp_size() : 1) +
                         info.stage_expert_params[st] / (s.zero >= 1 ? e.expert_dp_size() : 1);
    hw::MemoryOpQuery q{"adam", 34.0 * shard, 12.0 * shard};
    opt.duration_s = cost.memory_op(q).seconds;
    opt.deps = dp_tasks[st];
    opt.deps.insert(opt.deps.end(), e.carry().begin(), e.carry().end());
    e.carry().clear();
    if (e.last_compute() >= 0) opt.deps.push_back(e.last_compute());
    if (tied >= 0 && (st == 0 || st == pp - 1)) opt.deps.push_back(tied);
    const TaskId opt_id = e.add(std::move(opt));
    if ((s.zero == 1 || s.zero == 2) && !s.overlap_dp_param_gather)
      for (bool expert : {false, true}) {
        if ((expert ? e.expert_dp_size() : e.dp_size()) <= 1) continue;
        double bytes = (expert ? info.stage_expert_params[st] : info.stage_params[st]) * act_bytes;
        while (bytes > 0) {
          const double b = std::min(bytes, s.dp_bucket_bytes);
          e.dp_collective(expert ? "expert_dp_param_all_gather" : "dp_param_all_gather", kDpParamStream,
                          CollectiveOp::all_gather, b, {opt_id}, expert);
          bytes -= b;
        }
      }
  }
  sort_topologically(g);
  return info;
}

}  // namespace foresight::sim
