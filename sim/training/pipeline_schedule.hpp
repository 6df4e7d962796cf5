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
  int chunk = 0;   // model chunk (virtual stage = chunk * pp + stage); dualpipe: the direction (0 or 1)
  // Zero-bubble split of a backward pass: the input gradient now, the weight gradient later (a
  // separate weight_grad step, in the order the input gradients ran).
  enum class Part { full, input_grad, weight_grad } part = Part::full;
  bool overlap_next = false;   // runs interleaved with the next step (an overlapped forward/backward pair)
};

// kind: gpipe | 1f1b | interleaved | dualpipe. Returns one ordered list per stage.
// overlap_pairs (1f1b only): every steady-state forward runs interleaved with the backward after
// it (Megatron-core's overlapped 1F1B for expert-parallel all-to-alls); each stage warms up with
// 2(pp - stage) - 1 forwards (pipeline_schedule.cpp says why), holding about twice 1F1B's activations.
// dualpipe (DeepSeek-V3 report sec. 3.2.1; github.com/deepseek-ai/DualPipe): microbatches
// 0..m/2-1 enter at stage 0 (direction 0), m/2..m-1 at stage pp-1 (direction 1); stage r holds
// model chunk r for direction 0 and chunk pp-1-r for direction 1.
std::vector<std::vector<PipeStep>> pipeline_schedule(const std::string& kind, int pp, int vpp, int microbatches,
                                                     bool overlap_pairs = false);

// The most forward passes whose backward has not yet run, over time, on each stage, counted in
// layers (layers_per_chunk[c] for chunk c): the activation memory the schedule must hold.
std::vector<double> peak_inflight_layers(const std::vector<std::vector<PipeStep>>& schedule,
                                         const std::vector<std::vector<int>>& layers_per_stage_chunk);

}  // namespace foresight::sim
