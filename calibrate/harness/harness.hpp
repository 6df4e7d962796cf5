// Calibration harness: times the kernels of kernels/ on the local GPU(s) and writes the raw
// measurements ("foresight-raw/1" JSON) that `foresight-calibrate fit` turns into a profile.
#pragma once
#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace foresight::calibrate {

struct SweepOptions {
  std::string out_path;
  bool quick = false;              // a small subset of every sweep, for smoke runs
  std::vector<std::string> only;   // op kinds ("gemm", "attention", "rmsnorm", ...) or groups
                                   // ("memory", "nccl"); empty = everything
  int repeats = 20;                // upper bound; long cases use fewer (at least 3)
  int warmup = 5;
  // Wall-clock seconds for all sections together, shared out in the default proportions
  // (GEMM 240 : attention 150 : decode 40 : memory 60 : collectives 150 of 640). A lease on a
  // borrowed GPU is shorter than the full sweep; the cases dropped are counted in
  // provenance.skipped, and spread_order() makes them a thinning of each grid, not its tail.
  double budget_s = 640;
};

// Reorders `items` from position `first` on so that every prefix samples the whole list evenly:
// the tail is visited in bit-reversed (van der Corput) order of its indices, so the first 2^j cases
// taken land one in each 1/2^j of the original order. A sweep cut short by its time budget keeps
// a thinned grid instead of losing its tail. Deterministic, the same on every platform.
template <typename T>
void spread_order(std::vector<T>& items, std::size_t first) {
  if (items.size() <= first + 2) return;
  const std::size_t n = items.size() - first;
  int bits = 0;
  while ((std::size_t{1} << bits) < n) ++bits;
  std::vector<T> out;
  out.reserve(n);
  for (std::size_t i = 0; i < (std::size_t{1} << bits); ++i) {
    std::size_t j = 0;
    for (int b = 0; b < bits; ++b)
      if (i >> b & 1) j |= std::size_t{1} << (bits - 1 - b);
    if (j < n) out.push_back(std::move(items[first + j]));
  }
  std::move(out.begin(), out.end(), items.begin() + static_cast<std::ptrdiff_t>(first));
}

// Returns a process exit code: 0 all sweeps ran, 3 no usable CUDA GPU, 4 some cases failed (the
// JSON is still written and lists them under "errors"), 5 the output could not be written.
// Progress goes to stderr.
int run_sweep(const SweepOptions& opts);

}  // namespace foresight::calibrate
