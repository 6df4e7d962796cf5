#pragma once
// The order in which each pipeline stage runs forward and backward passes of microbatches (and
// model chunks, for the interleaved schedule). Dependencies between stages are added by the graph
// builder; bubbles then emerge from execution rather than from a formula.
#include <string>
#include <vector>

namespace foresight::sim {

struct PipeStep {
  bool forward = true;
  int microbatch = 0;
  int chunk = 0;   // model chunk (virtual stage = chunk * pp + stage)
};

// kind: gpipe | 1f1b | interleaved. Returns one ordered list per stage.
std::vector<std::vector<PipeStep>> pipeline_schedule(const std::string& kind, int pp, int vpp, int microbatches);

// The most forward passes whose backward has not yet run, over time, on each stage, counted in
// layers (layers_per_chunk[c] for chunk c): the activation memory the schedule must hold.
std::vector<double> peak_inflight_layers(const std::vector<std::vector<PipeStep>>& schedule,
                                         const std::vector<std::vector<int>>& layers_per_stage_chunk);

}  // namespace foresight::sim
