#include "sim/metrics/perfetto_trace.hpp"

#include <fstream>
#include <map>

#include "core/error.hpp"

namespace foresight::sim {

nlohmann::json perfetto_trace(const TaskGraph& graph, const std::vector<TaskTiming>& timings,
                              const StreamNamer& stream_name) {
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

void write_trace(const nlohmann::json& trace, const std::string& path) {
  std::ofstream out(path);
  if (!out) throw InputError(SourceLocation{path, 0, 0}, "--trace", "cannot write the trace file");
  out << trace.dump() << "\n";
  out.flush();
  if (!out) throw InputError(SourceLocation{path, 0, 0}, "--trace", "writing the trace file failed");
}

}  // namespace foresight::sim
