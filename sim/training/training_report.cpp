// JSON and trace output of a training run.
#include <map>

#include "sim/training/training_graph.hpp"
#include "sim/training/training_run.hpp"

namespace foresight::sim {

nlohmann::json to_json(const TrainingResult& r) {
  using nlohmann::json;
  const auto& b = r.breakdown;
  const auto& m = r.memory;
  return json{
      {"fidelity", r.fidelity},
      {"cost_model", r.cost_model},
      {"iteration_time_s", r.iteration_time_s},
      {"tokens_per_s", r.tokens_per_s},
      {"model_flops_per_iteration", r.model_flops},
      {"model_tflops_per_gpu", r.model_tflops_per_gpu},
      {"model_flops_formula", "6*N_matmul*tokens + 6*layers*seq*hidden*tokens (causal attention, no recompute)"},
      {"megatron_eq3_tflops_per_gpu", r.megatron_eq3_tflops_per_gpu},
      {"mfu", r.mfu},
      {"peak_flops_per_gpu", r.peak_flops},
      {"breakdown_s",
       {{"compute", b.compute},
        {"recompute", b.recompute},
        {"exposed_tp", b.exposed_tp},
        {"exposed_cp", b.exposed_cp},
        {"exposed_pp", b.exposed_pp},
        {"exposed_dp", b.exposed_dp},
        {"bubble", b.bubble},
        {"optimizer", b.optimizer}}},
      {"memory_bytes",
       {{"weights", m.weights},
        {"grads", m.grads},
        {"optimizer", m.optimizer},
        {"activations", m.activations},
        {"buffers", m.buffers},
        {"peak", m.peak},
        {"capacity", m.capacity},
        {"oom", m.oom},
        {"stage", m.stage}}},
      {"reported_rank", r.reported_rank},
      {"simulated_tasks", r.tasks},
      {"warnings", r.warnings},
      {"assumptions", r.assumptions},
  };
}

nlohmann::json perfetto_trace(const TaskGraph& graph, const std::vector<TaskTiming>& timings) {
  using nlohmann::json;
  json events = json::array();
  std::map<int, std::map<int, bool>> seen;
  const auto& tasks = graph.tasks();
  for (size_t i = 0; i < tasks.size() && i < timings.size(); ++i) {
    const Task& t = tasks[i];
    seen[t.rank][t.stream] = true;
    json ev{{"name", t.name},
            {"cat", t.category},
            {"ph", "X"},
            {"ts", timings[i].start_s * 1e6},
            {"dur", (timings[i].end_s - timings[i].start_s) * 1e6},
            {"pid", t.rank},
            {"tid", t.stream}};
    if (t.kind == Task::Kind::collective)
      ev["args"] = {{"op", op_name(t.collective.op)}, {"bytes", t.collective.bytes}, {"ranks", t.collective.ranks.size()}};
    events.push_back(std::move(ev));
  }
  for (const auto& [rank, streams] : seen) {
    events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", rank}, {"args", {{"name", "rank " + std::to_string(rank)}}}});
    for (const auto& [stream, _] : streams)
      events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", rank}, {"tid", stream},
                        {"args", {{"name", stream_name(stream)}}}});
  }
  return json{{"traceEvents", events}, {"displayTimeUnit", "ms"}};
}

}  // namespace foresight::sim
