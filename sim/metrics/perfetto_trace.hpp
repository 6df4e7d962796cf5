#pragma once
// Chrome/Perfetto trace of a simulated timeline, streamed to a file event by event (a 3-million-task
// iteration never exists as one JSON value): one process per simulated rank, one thread per stream.
// Open the file in ui.perfetto.dev.
#include <functional>
#include <string>
#include <vector>

#include "sim/engine/task_graph.hpp"

namespace foresight::sim {

using StreamNamer = std::function<std::string(int stream)>;

// How much the trace holds:
//   ops     one slice per task (every GEMM, norm and collective), labelled with microbatch and layer;
//   layers  one slice per (stream, microbatch, layer, pass direction): the ops of a layer merged;
//   passes  one slice per (stream, microbatch, virtual stage, direction): a pipeline schedule view.
enum class TraceDetail { ops, layers, passes };
TraceDetail parse_trace_detail(const std::string& name);  // throws InputError naming --trace-detail

// Writes the trace to `path`; an unwritable path is an InputError naming it and the --trace flag.
// Returns the number of slices written.
size_t write_perfetto_trace(const TaskGraph& graph, const std::vector<TaskTiming>& timings,
                            const StreamNamer& stream_name, const std::string& path,
                            TraceDetail detail = TraceDetail::ops);

}  // namespace foresight::sim
