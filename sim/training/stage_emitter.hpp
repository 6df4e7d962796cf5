#pragma once
// How one pipeline stage's representative rank turns timed work templates into tasks: compute on
// stream 0, each collective on its dimension's stream, with the dependencies that order them; and
// the data-parallel gradient buckets. A pass can be emitted whole, or segment by segment (up to
// and including each communication) so that two passes of different microbatches interleave on
// the compute stream and each one's all-to-alls hide behind the other's compute.
#include <cmath>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "hwmodels/cost/cost_model.hpp"
#include "sim/engine/task_graph.hpp"
#include "sim/model/placement.hpp"
#include "sim/moe/routing.hpp"
#include "sim/training/layer_ops.hpp"
#include "sim/training/routed_timing.hpp"
#include "sim/training/training_graph.hpp"

namespace foresight::sim {

inline Placement::Coord stage_coord(int stage) {
  Placement::Coord c{};
  c[index(ParallelDim::pp)] = stage;
  return c;
}

inline TaskId push(TaskGraph& g, Task t) {
  g.tasks().push_back(std::move(t));
  return TaskId(g.tasks().size() - 1);
}

inline double grad_comm_bytes(const TrainingSpec& s) { return dtype_size(s.grad_dtype()); }

struct TimedTemplate {
  const WorkTemplate* items = nullptr;
  std::vector<double> seconds;
  std::vector<bool> waited;   // a later item of the same template waits for this comm
};

inline TimedTemplate time_template(const WorkTemplate& t, const hw::ComputeCostModel& cost) {
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

// A routed template's instance: its drawn timing and the token fan-out of its dispatches.
struct Routed {
  const RoutedInstance* timing = nullptr;
  FanOut fan_out;
  bool hierarchical = false;
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

  // A pass in progress: the communication its next compute must wait for and its last compute
  // (what its collectives start after). Whole passes share the stage's own (carry(), last_compute()).
  struct PassState {
    std::vector<TaskId> carry;
    TaskId last_compute = -1;
  };
  // One template being emitted: the items done so far.
  struct Cursor {
    const TimedTemplate* tt = nullptr;
    const Routed* routed = nullptr;
    size_t next = 0;
    std::vector<TaskId> ids;
    TaskId first_compute = -1;
    bool done() const { return next >= tt->items->size(); }
  };
  static Cursor cursor(const TimedTemplate& tt, const Routed& routed) {
    Cursor c;
    c.tt = &tt, c.routed = &routed;
    c.ids.assign(tt.items->size(), -1);
    return c;
  }
  PassState own_pass() const { return PassState{carry_, last_compute_}; }

  // Emits the template's items from the cursor on, against `pass`: to the end when `whole`, else
  // until the next compute item would wait for this pass's own communication (it yields there, so
  // that another pass's compute fills the wait; at least one item is emitted per call).
  void emit(Cursor& c, PassState& pass, bool whole) {
    const auto& items = *c.tt->items;
    const Routed& routed = *c.routed;
    bool emitted = false;
    while (!c.done()) {
      const WorkItem& next = items[c.next];
      if (!whole && emitted && next.kind != WorkItem::Kind::comm && (!pass.carry.empty() || !next.waits.empty())) return;
      emitted = true;
      const size_t i = c.next++;
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
          if (routed.hierarchical && w.op == CollectiveOp::all_to_all) {
            t.collective.algorithm = "hierarchical";
            // Rounded so that layers with nearly equal fan-outs share one interned request.
            t.collective.fan_out_nodes = std::round(routed.fan_out.nodes * 1000.0) / 1000.0;
            t.collective.fan_out_ranks_per_node = std::round(routed.fan_out.ranks_per_node * 1000.0) / 1000.0;
          }
        }
        if (pass.last_compute >= 0) t.deps.push_back(pass.last_compute);
        c.ids[i] = add(std::move(t));
        if (!c.tt->waited[i]) pass.carry.push_back(c.ids[i]);
      } else {
        t.kind = Task::Kind::compute;
        t.stream = kCompute;
        t.duration_s = w.routed != WorkItem::Routed::none && routed.timing ? routed.timing->seconds[i] : c.tt->seconds[i];
        for (int d : w.waits) t.deps.push_back(c.ids[d]);
        t.deps.insert(t.deps.end(), pass.carry.begin(), pass.carry.end());
        pass.carry.clear();
        c.ids[i] = add(std::move(t));
        pass.last_compute = last_compute_ = c.ids[i];
        if (c.first_compute < 0) c.first_compute = c.ids[i];
      }
    }
  }

  // Emits a whole template on the stage's own pass; returns its first compute task (the "layer
  // start").
  TaskId instantiate(const TimedTemplate& tt, const Routed& routed = {}) {
    Cursor c = cursor(tt, routed);
    PassState pass{std::move(carry_), last_compute_};
    emit(c, pass, true);
    carry_ = std::move(pass.carry);
    return c.first_compute;
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

}  // namespace foresight::sim
