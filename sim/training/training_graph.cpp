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
#include "sim/training/stage_emitter.hpp"

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
  return is_moe_layer(s, layer) ? c.expert * (s.model.moe.experts / s.par.ep) / s.par.etp : 0.0;
}

// Parameters one GPU holds of a virtual stage, outside the routed experts (reduced over DP).
double chunk_params_per_gpu(const TrainingSpec& s, int vstage) {
  const ParamCounts c = count_params(s.model);
  const int last = s.virtual_stages() - 1;
  const int first = first_layer_of(s, vstage);
  double p = 0;
  for (int l = first; l < first + s.layers_in_virtual_stage(vstage); ++l) p += layer_dense_params(s, c, l);
  double extra = 0;
  if (vstage == 0) extra += c.embedding;
  // With tied embeddings and pp > 1 the last stage keeps its own copy of the word embeddings.
  if (vstage == last) extra += c.final_norm + (s.model.tied_embeddings ? (last > 0 ? c.embedding : 0.0) : c.output);
  if (vstage == last) extra += s.model.mtp_modules * c.mtp_dense;
  return p + extra / s.par.tp;
}

// Routed-expert parameters one GPU holds of a virtual stage (reduced over expert DP).
double chunk_expert_params_per_gpu(const TrainingSpec& s, int vstage) {
  const int mtp = vstage == s.virtual_stages() - 1 ? s.model.mtp_modules : 0;
  return (moe_layers_in(s, vstage) + mtp) * count_params(s.model).expert *
         (s.model.is_moe() ? s.model.moe.experts / s.par.ep : 0) / s.par.etp;
}

// Zero-bubble split of a backward template: the input-gradient part (everything but the weight-
// gradient GEMMs; a communication a removed GEMM waited for now gates the next compute instead)
// and the weight-gradient GEMMs.
struct SplitWork {
  WorkTemplate input, weight;
};
SplitWork split_backward(const WorkTemplate& t) {
  SplitWork out;
  std::vector<int> moved(t.size(), -1);
  for (size_t i = 0; i < t.size(); ++i) {
    WorkItem w = t[i];
    const bool wgrad = w.kind == WorkItem::Kind::gemm && w.name.size() > 6 &&
                       w.name.compare(w.name.size() - 6, 6, "_wgrad") == 0;
    if (wgrad) {
      w.waits.clear();
      out.weight.push_back(std::move(w));
      continue;
    }
    std::vector<int> waits;
    for (int d : w.waits)
      if (moved[size_t(d)] >= 0) waits.push_back(moved[size_t(d)]);
    w.waits = std::move(waits);
    moved[i] = int(out.input.size());
    out.input.push_back(std::move(w));
  }
  return out;
}

// One part of the model (a layer kind, the embedding, the head) as forward, backward and the
// backward's two zero-bubble halves.
struct SplitTemplates {
  TimedTemplate fwd, bwd, input, weight;
};
struct Templates {
  SplitTemplates layer, moe, embed, head, mtp_in;
};

struct StepRecord {
  TaskId entry = -1, send = -1;
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
  for (int c = 0; c < s.chunks(); ++c) p += chunk_params_per_gpu(s, s.vstage_of(c, stage));
  return p;
}

double stage_expert_params_per_gpu(const TrainingSpec& s, int stage) {
  double p = 0;
  for (int c = 0; c < s.chunks(); ++c) p += chunk_expert_params_per_gpu(s, s.vstage_of(c, stage));
  return p;
}

TrainingGraphInfo build_training_graph(const TrainingSpec& s, const hw::ComputeCostModel& cost, TaskGraph& g,
                                       bool replicate_dp, int nvlink_domain) {
  const int pp = s.par.pp, chunks = s.chunks(), vstages = s.virtual_stages();
  const int m = int(s.microbatches());
  const Placement pl(s.par);
  const MicrobatchWork work = build_microbatch_work(s);
  const SplitWork split_layer = split_backward(work.layer_bwd), split_moe = split_backward(work.moe_layer_bwd),
                  split_embed = split_backward(work.embed_bwd), split_head = split_backward(work.head_bwd),
                  split_mtp = split_backward(work.mtp_in_bwd);
  auto timed = [&](const WorkTemplate& f, const WorkTemplate& b, const SplitWork& sw) {
    return SplitTemplates{time_template(f, cost), time_template(b, cost), time_template(sw.input, cost),
                          time_template(sw.weight, cost)};
  };
  const Templates tpl{timed(work.layer_fwd, work.layer_bwd, split_layer),
                      timed(work.moe_layer_fwd, work.moe_layer_bwd, split_moe),
                      timed(work.embed_fwd, work.embed_bwd, split_embed), timed(work.head_fwd, work.head_bwd, split_head),
                      timed(work.mtp_in_fwd, work.mtp_in_bwd, split_mtp)};
  const ParamCounts pc = count_params(s.model);
  const double act_bytes = 2.0;
  // Scatter/gather optimisation (Narayanan et al. 2021, sec. 4.1) and sequence parallelism both
  // send 1/tp of the boundary activation per TP rank.
  const double boundary_bytes = double(s.micro_batch) * s.sequence_length / s.par.cp * s.model.hidden * act_bytes / s.par.tp;

  TrainingGraphInfo info;
  info.schedule = pipeline_schedule(s.schedule, pp, s.par.vpp, m, s.overlap_ep_comm);
  std::vector<StepRecord> steps(size_t(2) * chunks * m * pp);
  auto step_index = [&](bool fwd, int mb, int chunk, int stage) {
    return ((size_t(fwd ? 1 : 0) * chunks + chunk) * m + mb) * pp + stage;
  };
  std::vector<StageEmitter> emitters;
  emitters.reserve(pp);
  std::vector<std::vector<TaskId>> dp_tasks(pp);
  std::vector<std::vector<TaskId>> param_gathers(size_t(pp) * chunks);

  // Mixture of experts: the EP group's ranks by NVLink domain, and one routing draw per
  // (layer, microbatch) shared by its forward, recomputation and backward.
  std::unique_ptr<RoutedTimer> router;
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
  // How a routed unit's all-to-alls run (its timing is drawn per unit).
  auto dispatch_of = [&](int layer) {
    Routed r;
    r.hierarchical = s.moe_dispatcher == "deepep";
    if (r.hierarchical) r.fan_out = router->fan_out(layer);
    return r;
  };

  for (int st = 0; st < pp; ++st) {
    emitters.emplace_back(g, pl, st, replicate_dp);
    StageEmitter& e = emitters.back();
    const auto& schedule = info.schedule[st];
    info.stage_rank.push_back(e.rank());
    info.stage_params.push_back(stage_params_per_gpu(s, st));
    info.stage_expert_params.push_back(stage_expert_params_per_gpu(s, st));
    info.stage_routed_s.push_back(0.0);
    info.stage_balanced_s.push_back(0.0);
    const bool zero3 = s.zero == 3;
    // Distributed optimizer: updated parameters are all-gathered; overlapped with this
    // iteration's forward pass, each chunk's first forward waits for its chunk's buckets.
    if ((s.zero == 1 || s.zero == 2) && s.overlap_dp_param_gather) {
      for (int c = 0; c < chunks; ++c)
        for (bool expert : {false, true}) {
          if ((expert ? e.expert_dp_size() : e.dp_size()) <= 1) continue;
          const int v = s.vstage_of(c, st);
          double bytes = (expert ? chunk_expert_params_per_gpu(s, v) : chunk_params_per_gpu(s, v)) * act_bytes;
          while (bytes > 0) {
            const double b = std::min(bytes, s.dp_bucket_bytes);
            param_gathers[size_t(st) * chunks + c].push_back(e.dp_collective(
                expert ? "expert_dp_param_all_gather" : "dp_param_all_gather", kDpParamStream, CollectiveOp::all_gather, b, {}, expert));
            bytes -= b;
          }
        }
    }
    // The step after which each chunk's weight gradients are final: its last backward that
    // computes them (a full backward or a deferred weight-gradient step).
    std::vector<int> last_grad_step(size_t(chunks), -1), first_forward(size_t(chunks), -1);
    for (size_t k = 0; k < schedule.size(); ++k) {
      const PipeStep& step = schedule[k];
      if (!step.forward && step.part != PipeStep::Part::input_grad) last_grad_step[size_t(step.chunk)] = int(k);
      if (step.forward && first_forward[size_t(step.chunk)] < 0) first_forward[size_t(step.chunk)] = int(k);
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

    // One pass of a step as units: a template with its routing and labels, and the gradients that
    // become final once it has run (when this is the chunk's last gradient-computing step).
    struct Unit {
      const TimedTemplate* tt = nullptr;
      Routed routed;
      std::unique_ptr<RoutedInstance> inst;
      int layer = -1;
      double dense = 0, expert = 0;   // gradients ready after the unit
      double gather = -1;             // ZeRO-3: parameters gathered before it
      double zero3_scatter = 0;       // ZeRO-3: gradients reduce-scattered after it
    };
    auto units_of = [&](const PipeStep& step, bool final_grads) {
      std::vector<Unit> out;
      const int v = s.vstage_of(step.chunk, st);
      const int layers = s.layers_in_virtual_stage(v), first = first_layer_of(s, v);
      const bool input = step.part == PipeStep::Part::input_grad, weight = step.part == PipeStep::Part::weight_grad;
      auto pick = [&](const SplitTemplates& t) -> const TimedTemplate* {
        return step.forward ? &t.fwd : input ? &t.input : weight ? &t.weight : &t.bwd;
      };
      auto add = [&](const SplitTemplates& t, int layer, double dense, double expert) {
        Unit u;
        u.tt = pick(t);
        u.layer = layer;
        if (final_grads && !step.forward) u.dense = dense, u.expert = expert;
        if (layer >= 0 && is_moe_layer(s, layer)) {
          u.routed = dispatch_of(layer);
          u.inst = std::make_unique<RoutedInstance>(router->time(*u.tt->items, layer, step.microbatch));
          u.routed.timing = u.inst.get();
          info.stage_routed_s[size_t(st)] += u.inst->busiest_s;
          info.stage_balanced_s[size_t(st)] += u.inst->balanced_s;
        }
        out.push_back(std::move(u));
      };
      const double head_params = (pc.final_norm + (s.model.tied_embeddings ? 0.0 : pc.output)) / s.par.tp;
      if (step.forward) {
        if (v == 0) add(tpl.embed, -1, 0, 0);
        for (int l = 0; l < layers; ++l) {
          const int layer = first + l;
          add(is_moe_layer(s, layer) ? tpl.moe : tpl.layer, layer, 0, 0);
          if (zero3) out.back().gather = layer_dense_params(s, pc, layer) + (v == 0 && l == 0 ? pc.embedding / s.par.tp : 0);
        }
        if (v == vstages - 1) {
          add(tpl.head, -1, 0, 0);
          // Multi-token prediction: projection, one more layer (routed as its own layer index)
          // and the shared output head with its loss, per module.
          for (int d = 0; d < s.model.mtp_modules; ++d) {
            add(tpl.mtp_in, -1, 0, 0);
            const int layer = s.model.layers + d;
            add(is_moe_layer(s, layer) ? tpl.moe : tpl.layer, layer, 0, 0);
            add(tpl.head, -1, 0, 0);
          }
        }
      } else {
        if (v == vstages - 1) {
          for (int d = s.model.mtp_modules - 1; d >= 0; --d) {
            const int layer = s.model.layers + d;
            const bool moe = is_moe_layer(s, layer);
            add(tpl.head, -1, 0, 0);   // the head's gradients accumulate into the main head's
            const double layer_dense = layer_dense_params(s, pc, layer);
            add(moe ? tpl.moe : tpl.layer, layer, layer_dense, layer_expert_params(s, pc, layer));
            add(tpl.mtp_in, -1, pc.mtp_dense / s.par.tp - layer_dense, 0);   // projection and norms
          }
          add(tpl.head, -1, head_params, 0);
        }
        for (int l = 0; l < layers; ++l) {
          const int layer = first + layers - 1 - l;
          const double dense = layer_dense_params(s, pc, layer);
          add(is_moe_layer(s, layer) ? tpl.moe : tpl.layer, layer, dense, layer_expert_params(s, pc, layer));
          if (zero3) out.back().gather = dense, out.back().zero3_scatter = dense;
        }
        if (v == 0) add(tpl.embed, -1, pc.embedding / s.par.tp, 0);
      }
      return out;
    };
    auto grads_ready = [&](const Unit& u) {
      if (u.dense <= 0 && u.expert <= 0) return;
      if (s.overlap_dp_grad_reduce) {
        buckets.add(u.dense);
        if (u.expert > 0) expert_buckets.add(u.expert);
      } else {
        deferred_grads += u.dense;
        deferred_expert_grads += u.expert;
      }
    };
    auto run_unit = [&](Unit& u, StageEmitter::PassState* pass, StageEmitter::Cursor* cur, bool whole) {
      if (!pass) {
        if (u.gather >= 0 && e.dp_size() > 1) gather_layer(u.gather);
        prev_layer_start = e.instantiate(*u.tt, u.routed);
      } else {
        e.emit(*cur, *pass, whole);
      }
    };
    auto after_unit = [&](Unit& u) {
      grads_ready(u);
      if (u.zero3_scatter > 0 && e.dp_size() > 1)
        dp_tasks[st].push_back(e.dp_collective("zero3_grad_reduce_scatter", kDpGradStream, CollectiveOp::reduce_scatter,
                                               u.zero3_scatter * grad_comm_bytes(s), {e.last_compute()}));
    };
    auto label = [&](const PipeStep& step, int layer) {
      e.at(step.microbatch, s.vstage_of(step.chunk, st), layer, step.forward);
    };
    // The pipeline send that ends a pass (none for weight-gradient steps and the pipeline's ends).
    auto send_after = [&](const PipeStep& step, TaskId last_compute, std::vector<TaskId>& carry) -> TaskId {
      const int v = s.vstage_of(step.chunk, st);
      if (step.part == PipeStep::Part::weight_grad || !(step.forward ? v < vstages - 1 : v > 0)) return -1;
      const int peer = s.stage_of(step.forward ? v + 1 : v - 1, step.chunk);
      std::vector<TaskId> deps{last_compute};
      deps.insert(deps.end(), carry.begin(), carry.end());
      carry.clear();
      label(step, -1);
      return e.collective(step.forward ? "pp_send_activation" : "pp_send_grad", dim_name(ParallelDim::pp),
                          step.forward ? kPpFwdStream : kPpBwdStream, CollectiveOp::send_recv, boundary_bytes,
                          {e.rank(), pl.global(stage_coord(peer))}, deps);
    };
    auto record = [&](const PipeStep& step, TaskId entry, TaskId send) {
      if (step.part == PipeStep::Part::weight_grad) return;
      steps[step_index(step.forward, step.microbatch, step.chunk, st)] = StepRecord{entry, send};
      const int k = int(&step - schedule.data());
      if (step.forward && k == first_forward[size_t(step.chunk)])
        for (TaskId pg : param_gathers[size_t(st) * chunks + step.chunk]) g.tasks()[entry].deps.push_back(pg);
    };

    for (size_t k = 0; k < schedule.size(); ++k) {
      const PipeStep& step = schedule[k];
      const bool final_grads = int(k) == last_grad_step[size_t(step.chunk)];
      if (!(step.overlap_next && k + 1 < schedule.size())) {
        // One pass alone.
        e.begin_step();
        std::vector<Unit> units = units_of(step, final_grads);
        for (Unit& u : units) {
          label(step, u.layer);
          run_unit(u, nullptr, nullptr, true);
          after_unit(u);
        }
        if (final_grads && s.overlap_dp_grad_reduce) {
          buckets.flush();
          expert_buckets.flush();
        }
        const TaskId entry = e.step_entry();
        // Megatron-LM batches each pass's send with the next receive and waits for both before
        // computing on, so a stage's next pass also waits for its own outgoing send.
        const TaskId send = send_after(step, e.last_compute(), e.carry());
        if (send >= 0) e.carry().push_back(send);
        record(step, entry, send);
        continue;
      }
      // An overlapped pair: the two passes' layers alternate segment by segment (each segment runs
      // up to and including a communication), so one pass computes while the other's all-to-all,
      // tensor-parallel or pipeline traffic is in flight. Both wait for what the stage's previous
      // pass left pending (its sends), and each sends when it ends.
      const PipeStep& other = schedule[k + 1];
      const bool other_final = int(k + 1) == last_grad_step[size_t(other.chunk)];
      std::vector<Unit> ua = units_of(step, final_grads), ub = units_of(other, other_final);
      StageEmitter::PassState pa = e.own_pass(), pb = e.own_pass();
      e.carry().clear();
      TaskId entry_a = -1, entry_b = -1;
      size_t ia = 0, ib = 0;
      std::unique_ptr<StageEmitter::Cursor> ca, cb;
      auto advance = [&](std::vector<Unit>& units, size_t& i, std::unique_ptr<StageEmitter::Cursor>& cur,
                         StageEmitter::PassState& pass, const PipeStep& ps, TaskId& entry) {
        if (i >= units.size()) return;
        if (!cur) cur = std::make_unique<StageEmitter::Cursor>(StageEmitter::cursor(*units[i].tt, units[i].routed));
        label(ps, units[i].layer);
        const TaskId before = TaskId(g.tasks().size());
        run_unit(units[i], &pass, cur.get(), false);
        if (entry < 0 && TaskId(g.tasks().size()) > before) entry = before;
        if (cur->done()) {
          after_unit(units[i]);
          cur.reset();
          ++i;
        }
      };
      while (ia < ua.size() || ib < ub.size()) {
        advance(ua, ia, ca, pa, step, entry_a);
        advance(ub, ib, cb, pb, other, entry_b);
      }
      if ((final_grads || other_final) && s.overlap_dp_grad_reduce) {
        buckets.flush();
        expert_buckets.flush();
      }
      // As dualpipe.py runs a pair: it receives both inputs before starting (both entries are the
      // pair's first task) and sends both outputs when the pair has finished.
      const TaskId pair_end = e.last_compute();
      pa.carry.push_back(pair_end);
      pb.carry.push_back(pair_end);
      const TaskId send_a = send_after(step, pa.last_compute, pa.carry);
      const TaskId send_b = send_after(other, pb.last_compute, pb.carry);
      for (TaskId id : pa.carry) e.carry().push_back(id);
      for (TaskId id : pb.carry) e.carry().push_back(id);
      if (send_a >= 0) e.carry().push_back(send_a);
      if (send_b >= 0) e.carry().push_back(send_b);
      const TaskId entry = entry_a >= 0 ? entry_a : entry_b;
      record(step, entry, send_a);
      record(other, entry, send_b);
      ++k;
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
    const auto& t = router->totals();
    info.dropped_fraction = t.assignments > 0 ? t.dropped / t.assignments : 0.0;
    info.mean_dispatch_scale = t.draws > 0 ? t.dispatch_scale / t.draws : 0.0;
    if (s.moe_dispatcher == "deepep") {
      const int moe_layers = s.model.layers - s.model.moe.first_dense_layers;
      for (int l = s.model.moe.first_dense_layers; l < s.model.layers; ++l) {
        const FanOut f = router->fan_out(l);
        info.fan_out.nodes += f.nodes / moe_layers, info.fan_out.ranks_per_node += f.ranks_per_node / moe_layers;
      }
    }
  }

  // Cross-stage edges: a pass starts when the neighbouring virtual stage's send has arrived.
  // The chunk of the neighbouring virtual stage: the same direction under dualpipe, else v / pp.
  auto chunk_of = [&](int v, int chunk) { return s.dualpipe() ? chunk : v / pp; };
  for (int st = 0; st < pp; ++st) {
    for (const PipeStep& step : info.schedule[st]) {
      if (step.part == PipeStep::Part::weight_grad) continue;
      const StepRecord& rec = steps[step_index(step.forward, step.microbatch, step.chunk, st)];
      const int v = s.vstage_of(step.chunk, st);
      TaskId pred = -1;
      if (step.forward && v > 0) {
        const int pv = v - 1, pc_ = chunk_of(pv, step.chunk);
        pred = steps[step_index(true, step.microbatch, pc_, s.stage_of(pv, pc_))].send;
      } else if (!step.forward && v < vstages - 1) {
        const int nv = v + 1, nc = chunk_of(nv, step.chunk);
        pred = steps[step_index(false, step.microbatch, nc, s.stage_of(nv, nc))].send;
      }
      if (pred >= 0 && rec.entry >= 0) g.tasks()[rec.entry].deps.push_back(pred);
    }
  }

  // Tied embeddings across stages: the first and last stage sum their embedding gradients.
  TaskId tied = -1;
  // DualPipe: each model chunk lives on two stages (one per direction); their gradients are summed
  // before the optimizer step (dualpipe's example all-reduces the two copies).
  std::vector<std::vector<TaskId>> copy_sums(pp);
  if (s.dualpipe())
    for (int st = 0; st < pp / 2; ++st) {
      const int mirror = pp - 1 - st;
      for (bool expert : {false, true}) {
        // The pair shares two chunks: st (direction 0 here, 1 on the mirror) and the mirror's.
        const double params = expert ? chunk_expert_params_per_gpu(s, st) + chunk_expert_params_per_gpu(s, mirror)
                                     : chunk_params_per_gpu(s, st) + chunk_params_per_gpu(s, mirror);
        if (params <= 0) continue;
        std::vector<TaskId> deps{emitters[st].last_compute(), emitters[mirror].last_compute()};
        const TaskId id = emitters[st].collective(expert ? "dualpipe_expert_copy_grad_all_reduce" : "dualpipe_copy_grad_all_reduce",
                                                  dim_name(ParallelDim::pp), kDpGradStream, CollectiveOp::all_reduce,
                                                  params * grad_comm_bytes(s), {info.stage_rank[st], info.stage_rank[mirror]}, deps);
        copy_sums[st].push_back(id);
        copy_sums[mirror].push_back(id);
      }
    }
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
    for (TaskId id : copy_sums[st]) opt.deps.push_back(id);
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
