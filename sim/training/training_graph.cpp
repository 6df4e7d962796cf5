#include "sim/training/training_graph.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <queue>
#include <stdexcept>

#include "core/dtype.hpp"
#include "sim/training/layer_ops.hpp"
#include "sim/training/model_math.hpp"

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

double chunk_params_per_gpu(const TrainingSpec& s, int vstage) {
  const ParamCounts c = count_params(s.model);
  const int last = s.par.pp * s.par.vpp - 1;
  double p = s.layers_in_virtual_stage(vstage) * c.per_layer;
  if (vstage == 0) p += c.embedding;
  // With tied embeddings and pp > 1 the last stage keeps its own copy of the word embeddings.
  if (vstage == last) p += c.final_norm + (s.model.tied_embeddings ? (last > 0 ? c.embedding : 0.0) : c.output);
  return p / s.par.tp;
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
  TimedTemplate layer_fwd, layer_bwd, embed_fwd, embed_bwd, head_fwd, head_bwd;
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
  TaskId instantiate(const TimedTemplate& tt) {
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
        if (last_compute_ >= 0) t.deps.push_back(last_compute_);
        ids[i] = add(std::move(t));
        if (!tt.waited[i]) carry_.push_back(ids[i]);
      } else {
        t.kind = Task::Kind::compute;
        t.stream = kCompute;
        t.duration_s = tt.seconds[i];
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

  TaskId dp_collective(const std::string& name, int stream, CollectiveOp op, double bytes, std::vector<TaskId> deps) {
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

 private:
  TaskGraph& g_;
  int rank_ = 0;
  PerDim<std::vector<int>> groups_;   // this stage's communicator in each dimension
  std::vector<std::vector<int>> sibling_dp_groups_;
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
  GradBuckets(StageEmitter& e, const TrainingSpec& s, std::vector<TaskId>& issued)
      : e_(e), s_(s), issued_(issued) {}
  void add(double params) {
    pending_ += params * grad_comm_bytes(s_);
    if (pending_ >= s_.dp_bucket_bytes) flush();
  }
  void flush() {
    if (pending_ <= 0 || e_.dp_size() <= 1) {
      pending_ = 0;
      return;
    }
    const CollectiveOp op = s_.zero == 0 ? CollectiveOp::all_reduce : CollectiveOp::reduce_scatter;
    std::vector<TaskId> deps;
    if (e_.last_compute() >= 0) deps.push_back(e_.last_compute());
    issued_.push_back(e_.dp_collective(s_.zero == 0 ? "dp_grad_all_reduce" : "dp_grad_reduce_scatter", kDpGradStream,
                                       op, pending_, deps));
    pending_ = 0;
  }

 private:
  StageEmitter& e_;
  const TrainingSpec& s_;
  std::vector<TaskId>& issued_;
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

TrainingGraphInfo build_training_graph(const TrainingSpec& s, const hw::ComputeCostModel& cost, TaskGraph& g,
                                       bool replicate_dp) {
  const int pp = s.par.pp, vpp = s.par.vpp, vstages = pp * vpp;
  const int m = int(s.microbatches());
  const Placement pl(s.par);
  const MicrobatchWork work = build_microbatch_work(s);
  const Templates tpl{time_template(work.layer_fwd, cost), time_template(work.layer_bwd, cost),
                      time_template(work.embed_fwd, cost), time_template(work.embed_bwd, cost),
                      time_template(work.head_fwd, cost),  time_template(work.head_bwd, cost)};
  const ParamCounts pc = count_params(s.model);
  const double layer_params = pc.per_layer / s.par.tp;
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

  for (int st = 0; st < pp; ++st) {
    emitters.emplace_back(g, pl, st, replicate_dp);
    StageEmitter& e = emitters.back();
    info.stage_rank.push_back(e.rank());
    info.stage_params.push_back(stage_params_per_gpu(s, st));
    const bool zero3 = s.zero == 3;
    // Distributed optimizer: updated parameters are all-gathered; overlapped with this
    // iteration's forward pass, each chunk's first forward waits for its chunk's buckets.
    if ((s.zero == 1 || s.zero == 2) && s.overlap_dp_param_gather && e.dp_size() > 1) {
      for (int c = 0; c < vpp; ++c) {
        double bytes = chunk_params_per_gpu(s, c * pp + st) * act_bytes;
        while (bytes > 0) {
          const double b = std::min(bytes, s.dp_bucket_bytes);
          param_gathers[size_t(st) * vpp + c].push_back(
              e.dp_collective("dp_param_all_gather", kDpParamStream, CollectiveOp::all_gather, b, {}));
          bytes -= b;
        }
      }
    }
    GradBuckets buckets(e, s, dp_tasks[st]);
    double deferred_grads = 0;
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
      auto grads_ready = [&](double params) {
        if (!final_bwd) return;
        if (s.overlap_dp_grad_reduce) buckets.add(params);
        else deferred_grads += params;
      };
      int first_layer = 0;
      for (int u = 0; u < v; ++u) first_layer += s.layers_in_virtual_stage(u);
      e.at(step.microbatch, v, -1, step.forward);
      if (step.forward) {
        if (v == 0) e.instantiate(tpl.embed_fwd);
        for (int l = 0; l < layers; ++l) {
          e.at(step.microbatch, v, first_layer + l, true);
          if (zero3 && e.dp_size() > 1) gather_layer(layer_params + (v == 0 && l == 0 ? pc.embedding / s.par.tp : 0));
          prev_layer_start = e.instantiate(tpl.layer_fwd);
        }
        e.at(step.microbatch, v, -1, true);
        if (v == vstages - 1) e.instantiate(tpl.head_fwd);
      } else {
        const double head_params = (pc.final_norm + (s.model.tied_embeddings ? 0.0 : pc.output)) / s.par.tp;
        if (v == vstages - 1) {
          e.instantiate(tpl.head_bwd);
          grads_ready(head_params);
        }
        for (int l = 0; l < layers; ++l) {
          e.at(step.microbatch, v, first_layer + layers - 1 - l, false);
          if (zero3 && e.dp_size() > 1) gather_layer(layer_params);
          prev_layer_start = e.instantiate(tpl.layer_bwd);
          grads_ready(layer_params);
          if (zero3 && e.dp_size() > 1)
            dp_tasks[st].push_back(e.dp_collective("zero3_grad_reduce_scatter", kDpGradStream,
                                                   CollectiveOp::reduce_scatter, layer_params * grad_comm_bytes(s),
                                                   {e.last_compute()}));
        }
        e.at(step.microbatch, v, -1, false);
        if (v == 0) {
          e.instantiate(tpl.embed_bwd);
          grads_ready(pc.embedding / s.par.tp);
        }
        if (final_bwd && s.overlap_dp_grad_reduce) buckets.flush();
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
    if (!s.overlap_dp_grad_reduce && deferred_grads > 0) {
      buckets.add(deferred_grads);
      buckets.flush();
    }
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
    const double shard = info.stage_params[st] / (s.zero >= 1 ? e.dp_size() : 1);
    hw::MemoryOpQuery q{"adam", 34.0 * shard, 12.0 * shard};
    opt.duration_s = cost.memory_op(q).seconds;
    opt.deps = dp_tasks[st];
    opt.deps.insert(opt.deps.end(), e.carry().begin(), e.carry().end());
    e.carry().clear();
    if (e.last_compute() >= 0) opt.deps.push_back(e.last_compute());
    if (tied >= 0 && (st == 0 || st == pp - 1)) opt.deps.push_back(tied);
    const TaskId opt_id = e.add(std::move(opt));
    if ((s.zero == 1 || s.zero == 2) && !s.overlap_dp_param_gather && e.dp_size() > 1) {
      double bytes = info.stage_params[st] * act_bytes;
      while (bytes > 0) {
        const double b = std::min(bytes, s.dp_bucket_bytes);
        e.dp_collective("dp_param_all_gather", kDpParamStream, CollectiveOp::all_gather, b, {opt_id});
        bytes -= b;
      }
    }
  }
  sort_topologically(g);
  return info;
}

}  // namespace foresight::sim
