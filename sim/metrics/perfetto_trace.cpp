#include "sim/metrics/perfetto_trace.hpp"

#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "sim/metrics/trace_stream.hpp"

namespace foresight::sim {

TraceDetail parse_trace_detail(const std::string& name) {
  if (name == "ops" || name.empty()) return TraceDetail::ops;
  if (name == "layers") return TraceDetail::layers;
  if (name == "passes") return TraceDetail::passes;
  throw InputError(SourceLocation{"--trace-detail", 0, 0}, "", "expected ops, layers or passes, got '" + name + "'");
}

namespace {

void slice(TraceStream& w, const std::string& name, const std::string& cat, double start_s, double end_s, int pid,
           int tid, const nlohmann::json& args) {
  nlohmann::json ev{{"name", name}, {"cat", cat}, {"ph", "X"}, {"ts", start_s * 1e6}, {"dur", (end_s - start_s) * 1e6},
                    {"pid", pid}, {"tid", tid}};
  if (!args.empty()) ev["args"] = args;
  w.event(ev);
}

std::string pass_label(const Task& t, TraceDetail d) {
  const char* dir = t.forward ? "F" : "B";
  if (d == TraceDetail::layers && t.layer >= 0) return fmt::format("{} mb{} L{}", dir, t.microbatch, t.layer);
  return fmt::format("{} mb{} v{}", dir, t.microbatch, t.chunk);
}

}  // namespace

size_t write_perfetto_trace(const TaskGraph& graph, const std::vector<TaskTiming>& timings,
                            const StreamNamer& stream_name, const std::string& path, TraceDetail detail) {
  TraceStream w(path);
  size_t slices = 0;
  std::set<std::pair<int, int>> tracks;
  const auto& tasks = graph.tasks();
  // Merged slices: (rank, stream, microbatch, chunk, layer or -1, forward) -> [start, end] and count.
  struct Merged {
    double start = 0, end = 0;
    size_t count = 0;
    std::string label, category;
  };
  std::map<std::tuple<int, int, int, int, int, bool>, Merged> merged;
  for (size_t i = 0; i < tasks.size() && i < timings.size(); ++i) {
    const Task& t = tasks[i];
    tracks.insert({t.rank, t.stream});
    const bool in_pass = t.microbatch >= 0;
    if (detail == TraceDetail::ops || !in_pass) {
      nlohmann::json args = nlohmann::json::object();
      if (in_pass) {  // short keys: an ops-level trace of a large run has millions of these
        args["mb"] = t.microbatch;
        if (t.layer >= 0) args["layer"] = t.layer;
        args["pass"] = t.forward ? "F" : "B";
      }
      if (t.kind == Task::Kind::collective) {
        args["op"] = op_name(t.collective.op);
        args["bytes"] = t.collective.bytes;
        args["ranks"] = t.collective.ranks.size();
      }
      slice(w, t.name, t.category, timings[i].start_s, timings[i].end_s, t.rank, t.stream, args);
      ++slices;
      continue;
    }
    const int layer = detail == TraceDetail::layers ? t.layer : -1;
    Merged& m = merged[{t.rank, t.stream, t.microbatch, t.chunk, layer, t.forward}];
    if (m.count == 0) {
      m.start = timings[i].start_s, m.end = timings[i].end_s;
      m.label = pass_label(t, detail);
      m.category = t.stream == 0 ? "compute" : t.category;
    }
    m.start = std::min(m.start, timings[i].start_s);
    m.end = std::max(m.end, timings[i].end_s);
    ++m.count;
  }
  for (const auto& [key, m] : merged) {
    const auto& [rank, stream, mb, chunk, layer, fwd] = key;
    nlohmann::json args{{"microbatch", mb}, {"virtual_stage", chunk}, {"pass", fwd ? "forward" : "backward"},
                        {"tasks", m.count}};
    if (layer >= 0) args["layer"] = layer;
    // A merged slice spans its first start to its last end; on a communication stream that can
    // include gaps between its collectives.
    slice(w, m.label, m.category, m.start, m.end, rank, stream, args);
    ++slices;
  }
  std::set<int> ranks;
  for (const auto& [rank, stream] : tracks) {
    if (ranks.insert(rank).second) w.name(rank, -1, "rank " + std::to_string(rank));
    w.name(rank, stream, stream_name(stream));
  }
  w.close();
  return slices;
}

}  // namespace foresight::sim
