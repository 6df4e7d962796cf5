// Shared state and helpers of the calibration sweeps (not part of the public interface).
#pragma once
#include <cuda_runtime.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "calibrate/harness/harness.hpp"
#include "kernels/dtype.hpp"

namespace foresight::calibrate::detail {

// Owning device allocation that only grows; sweeps reuse one per operand across shapes.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  // Ensures `bytes` capacity; newly allocated memory is filled with random non-zero `fill` values.
  void* get(std::size_t bytes, kernels::DType fill, cudaStream_t stream, unsigned long long seed);
  void release();

 private:
  void* ptr_ = nullptr;
  std::size_t cap_ = 0;
};

struct Timing {
  double median_s = 0;
  std::vector<double> samples_s;
};

class Context {
 public:
  explicit Context(const SweepOptions& opts);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const SweepOptions& opts;
  cudaStream_t stream = nullptr;
  nlohmann::json measurements = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();
  // Cases a library declined (no cuDNN engine for a graph, backend not built): not failures of
  // ours, so they go to provenance.unsupported instead of errors.
  nlohmann::json unsupported = nlohmann::json::array();
  std::size_t l2_bytes = 0;

  bool wanted(std::string_view op) const;
  // Each section has a wall-clock budget so that slow kernels (our SIMT attention on an
  // unfamiliar GPU) cannot push the whole sweep far past its ten minutes. Once the section is over
  // budget this returns true and counts the case under provenance.skipped.
  bool skip_for_time(const std::string& op);
  void start_section(double budget_s);
  std::map<std::string, int> skipped;
  // Warm-up, then median of CUDA-event-timed runs. `flush_l2` writes a buffer of twice the L2
  // size before each run (outside the timed region) so every run starts cache-cold.
  Timing time(const std::function<void()>& fn, bool flush_l2);
  // Correctness gate before timing: poison the output, run once, and require every output
  // element to be finite. Throws KernelError naming `what` otherwise.
  void check_written(const std::function<void()>& fn, void* out, std::size_t elems, kernels::DType dtype,
                     const std::string& what);
  void record(nlohmann::json m, const Timing& t);
  void fail(const std::string& op, const std::string& what, const std::string& message);
  // Runs `body` and turns a KernelError into an entry of `errors` so one bad case does not stop
  // the sweep. Returns false on failure.
  bool guarded(const std::string& op, const std::string& what, const std::function<void()>& body);

 private:
  std::chrono::steady_clock::time_point section_start_{};
  double section_budget_s_ = 0;
  void* flush_ = nullptr;
  std::size_t flush_bytes_ = 0;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// Each sweep appends to ctx.measurements.
void sweep_gemm(Context& ctx);
void sweep_attention(Context& ctx);
void sweep_decode_attention(Context& ctx);
void sweep_memory(Context& ctx);
void sweep_collectives(Context& ctx);

nlohmann::json collect_provenance();
// SM and memory clocks now, their maxima and the driver release, through NVML loaded at run time;
// empty where the driver's NVML is absent.
nlohmann::json read_nvml_clocks();

}  // namespace foresight::calibrate::detail
