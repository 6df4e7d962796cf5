#pragma once
// Chrome/Perfetto trace events of a simulated timeline: one process per simulated rank, one thread
// per stream, one slice per task (open the file in ui.perfetto.dev).
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/engine/task_graph.hpp"

namespace foresight::sim {

using StreamNamer = std::function<std::string(int stream)>;

nlohmann::json perfetto_trace(const TaskGraph& graph, const std::vector<TaskTiming>& timings,
                              const StreamNamer& stream_name);

// Writes `trace` to `path`; an unwritable path is an InputError naming it and the --trace flag.
void write_trace(const nlohmann::json& trace, const std::string& path);

}  // namespace foresight::sim
