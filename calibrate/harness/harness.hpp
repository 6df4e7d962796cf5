// Calibration harness: times the kernels of kernels/ on the local GPU(s) and writes the raw
// measurements ("foresight-raw/1" JSON) that `foresight-calibrate fit` turns into a profile.
#pragma once
#include <string>
#include <vector>

namespace foresight::calibrate {

struct SweepOptions {
  std::string out_path;
  bool quick = false;              // a small subset of every sweep, for smoke runs
  std::vector<std::string> only;   // op kinds ("gemm", "attention", "rmsnorm", ...) or groups
                                   // ("memory", "nccl"); empty = everything
  int repeats = 20;                // upper bound; long cases use fewer (at least 3)
  int warmup = 5;
};

// Returns a process exit code: 0 all sweeps ran, 3 no usable CUDA GPU, 4 some cases failed (the
// JSON is still written and lists them under "errors"), 5 the output could not be written.
// Progress goes to stderr.
int run_sweep(const SweepOptions& opts);

}  // namespace foresight::calibrate
