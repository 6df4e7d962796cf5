#include "sim/training/pipeline_schedule.hpp"

#include <algorithm>
#include <stdexcept>

namespace foresight::sim {

namespace {

std::vector<PipeStep> gpipe(int m) {
  std::vector<PipeStep> out;
  for (int i = 0; i < m; ++i) out.push_back({true, i, 0});
  for (int i = 0; i < m; ++i) out.push_back({false, i, 0});
  return out;
}

std::vector<PipeStep> one_f_one_b(int stage, int pp, int m) {
  std::vector<PipeStep> out;
  const int warmup = std::min(pp - stage - 1, m);
  for (int i = 0; i < warmup; ++i) out.push_back({true, i, 0});
  for (int i = 0; i < m - warmup; ++i) {
    out.push_back({true, warmup + i, 0});
    out.push_back({false, i, 0});
  }
  for (int i = m - warmup; i < m; ++i) out.push_back({false, i, 0});
  return out;
}

// Megatron-LM's interleaved 1F1B (schedules.py, forward_backward_pipelining_with_interleaving):
// virtual microbatch k runs chunk (k mod pp*vpp)/pp, in groups of pp microbatches.
std::vector<PipeStep> interleaved(int stage, int pp, int vpp, int m) {
  const int total = m * vpp;
  auto step = [&](int k, bool forward) {
    const int in_group = k % (pp * vpp);
    int chunk = in_group / pp;
    if (!forward) chunk = vpp - 1 - chunk;
    return PipeStep{forward, (k / (pp * vpp)) * pp + in_group % pp, chunk};
  };
  int warmup = (m == pp) ? total : std::min((pp - stage - 1) * 2 + (vpp - 1) * pp, total);
  std::vector<PipeStep> out;
  for (int k = 0; k < warmup; ++k) out.push_back(step(k, true));
  const int steady = total - warmup;
  for (int i = 0; i < steady; ++i) {
    out.push_back(step(warmup + i, true));
    out.push_back(step(i, false));
  }
  for (int k = steady; k < total; ++k) out.push_back(step(k, false));
  return out;
}

}  // namespace

std::vector<std::vector<PipeStep>> pipeline_schedule(const std::string& kind, int pp, int vpp, int m) {
  std::vector<std::vector<PipeStep>> out(pp);
  for (int s = 0; s < pp; ++s) {
    if (kind == "gpipe") out[s] = gpipe(m);
    else if (kind == "1f1b") out[s] = one_f_one_b(s, pp, m);
    else if (kind == "interleaved") out[s] = interleaved(s, pp, vpp, m);
    else throw std::invalid_argument("unknown pipeline schedule '" + kind + "'");
  }
  return out;
}

std::vector<double> peak_inflight_layers(const std::vector<std::vector<PipeStep>>& schedule,
                                         const std::vector<std::vector<int>>& layers) {
  std::vector<double> peak(schedule.size(), 0.0);
  for (size_t s = 0; s < schedule.size(); ++s) {
    double live = 0;
    for (const auto& st : schedule[s]) {
      const double n = layers[s][st.chunk];
      // A backward pass still holds its chunk's activations while it runs.
      if (st.forward) live += n;
      peak[s] = std::max(peak[s], live);
      if (!st.forward) live -= n;
    }
  }
  return peak;
}

}  // namespace foresight::sim
