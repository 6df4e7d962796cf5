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

std::vector<PipeStep> one_f_one_b(int stage, int pp, int m, bool overlap_pairs) {
  std::vector<PipeStep> out;
  // Overlapped pairs send both passes' outputs when the pair ends, so a stage must run two pairs
  // ahead of its successor to keep the period at one pair: 2(pp - stage) - 1 warm-up forwards
  // (the last stage pairs forward k+1 with backward k).
  const int warmup = std::min(overlap_pairs ? 2 * (pp - stage) - 1 : pp - stage - 1, m);
  for (int i = 0; i < warmup; ++i) out.push_back({true, i, 0});
  for (int i = 0; i < m - warmup; ++i) {
    out.push_back({true, warmup + i, 0});
    out.back().overlap_next = overlap_pairs;
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

// DualPipe's per-rank program in eight phases (the order of dualpipe.py's step(), rewritten here
// from its description): h is the rank's distance from the nearer end, "near" the direction that
// enters at that end. Weight gradients deferred by input-gradient-only backwards run oldest first.
std::vector<PipeStep> dualpipe(int rank, int pp, int m) {
  const int H = pp / 2, h = std::min(rank, pp - 1 - rank), M = m / 2;
  const int near = rank < H ? 0 : 1, far = 1 - near;
  int next_f[2] = {0, 0}, next_b[2] = {0, 0};
  std::vector<PipeStep> out, deferred;
  auto mb = [&](int dir, int i) { return dir * M + i; };
  auto F = [&](int dir, bool overlap = false) {
    out.push_back({true, mb(dir, next_f[dir]++), dir});
    out.back().overlap_next = overlap;
  };
  auto B = [&](int dir, bool input_only = false) {
    PipeStep s{false, mb(dir, next_b[dir]++), dir};
    if (input_only) {
      s.part = PipeStep::Part::input_grad;
      PipeStep w = s;
      w.part = PipeStep::Part::weight_grad;
      deferred.push_back(w);
    }
    out.push_back(s);
  };
  auto W = [&] {
    out.push_back(deferred.front());
    deferred.erase(deferred.begin());
  };
  for (int i = 0; i < 2 * (H - h - 1); ++i) F(near);                       // 1: warm-up, near side
  for (int i = 0; i < h + 1; ++i) F(near), F(far);                         // 2: both directions
  for (int i = 0; i < H - h - 1; ++i) B(far, true), W(), F(far);           // 3: W fills the wait
  for (int i = 0; i < M - pp + h + 1; ++i) {                               // 4: overlapped pairs
    // The middle ranks run their first pair one after the other (a smaller bubble, per dualpipe.py).
    const bool first_middle = h == 0 && i == 0;
    F(near, !first_middle), B(far);
    F(far, true), B(near);
  }
  for (int i = 0; i < H - h - 1; ++i) B(far), F(far, true), B(near);      // 5
  for (int k = 0; k < 2 * (h + 1); ++k) B(k % 2 == 0 ? far : near, k >= h + 1);   // 6: last h+1 input-only
  for (int i = 0; i < H - h - 1; ++i) W(), B(near, true);                  // 7
  while (!deferred.empty()) W();                                          // 8
  return out;
}

}  // namespace

std::vector<std::vector<PipeStep>> pipeline_schedule(const std::string& kind, int pp, int vpp, int m,
                                                     bool overlap_pairs) {
  std::vector<std::vector<PipeStep>> out(pp);
  for (int s = 0; s < pp; ++s) {
    if (kind == "gpipe") out[s] = gpipe(m);
    else if (kind == "1f1b") out[s] = one_f_one_b(s, pp, m, overlap_pairs);
    else if (kind == "dualpipe") out[s] = dualpipe(s, pp, m);
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
      // Weight-gradient steps release what their input-gradient step kept: the layer inputs the
      // weight gradients need (counted with the forward activations, a slight overestimate).
      if (st.part == PipeStep::Part::input_grad) continue;
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
