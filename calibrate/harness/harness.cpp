// Sweep driver: timing discipline (warm-up, L2 flush, CUDA events, median), correctness gate,
// error collection, and the raw JSON writer.
#include "calibrate/harness/harness.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>

#include "calibrate/harness/harness_internal.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/memory_ops.hpp"

namespace foresight::calibrate {
namespace detail {

using kernels::DType;
using kernels::KernelError;

DeviceBuffer::~DeviceBuffer() { release(); }

void DeviceBuffer::release() {
  if (ptr_) cudaFree(ptr_);
  ptr_ = nullptr;
  cap_ = 0;
}

void* DeviceBuffer::get(std::size_t bytes, DType fill, cudaStream_t stream, unsigned long long seed) {
  if (bytes <= cap_) return ptr_;
  FS_CUDA(cudaStreamSynchronize(stream));
  release();
  // Round up so that a sweep of growing shapes does not reallocate at every step.
  const std::size_t cap = std::max<std::size_t>(bytes, 1u << 20);
  FS_CUDA(cudaMalloc(&ptr_, cap));
  cap_ = cap;
  kernels::fill_random(ptr_, static_cast<int64_t>(cap / kernels::dtype_size(fill)), fill, seed, 1.f, stream);
  return ptr_;
}

Context::Context(const SweepOptions& o) : opts(o) {
  FS_CUDA(cudaSetDevice(0));
  FS_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  FS_CUDA(cudaEventCreate(&start_));
  FS_CUDA(cudaEventCreate(&stop_));
  int l2 = 0;
  FS_CUDA(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
  l2_bytes = static_cast<std::size_t>(l2);
  flush_bytes_ = std::max<std::size_t>(2 * l2_bytes, 64u << 20);
  FS_CUDA(cudaMalloc(&flush_, flush_bytes_));
}

Context::~Context() {
  if (stream) cudaStreamSynchronize(stream);
  if (flush_) cudaFree(flush_);
  if (start_) cudaEventDestroy(start_);
  if (stop_) cudaEventDestroy(stop_);
  if (stream) cudaStreamDestroy(stream);
}

bool Context::wanted(std::string_view op) const {
  if (opts.only.empty()) return true;
  static const std::vector<std::string_view> memory_ops = {"rmsnorm", "layernorm", "swiglu", "gelu", "rope",
                                                           "softmax_xent", "add", "copy"};
  static const std::vector<std::string_view> nccl_ops = {"all_reduce", "all_gather", "reduce_scatter", "all_to_all",
                                                         "send_recv"};
  for (const auto& o : opts.only) {
    if (o == op) return true;
    if (o == "softmax_cross_entropy" && op == "softmax_xent") return true;
    if (o == "memory" && std::find(memory_ops.begin(), memory_ops.end(), op) != memory_ops.end()) return true;
    if ((o == "nccl" || o == "collectives") && std::find(nccl_ops.begin(), nccl_ops.end(), op) != nccl_ops.end())
      return true;
  }
  return false;
}

void Context::start_section(double budget_s) {
  section_start_ = std::chrono::steady_clock::now();
  section_budget_s_ = budget_s;
}

bool Context::skip_for_time(const std::string& op) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - section_start_).count();
  if (section_budget_s_ <= 0 || elapsed <= section_budget_s_) return false;
  if (skipped[op]++ == 0) std::cerr << "  " << op << ": section time budget spent, skipping the remaining cases\n";
  return true;
}

Timing Context::time(const std::function<void()>& fn, bool flush_l2) {
  auto timed_run = [&](int i) {
    if (flush_l2) FS_CUDA(cudaMemsetAsync(flush_, i & 0xff, flush_bytes_, stream));
    FS_CUDA(cudaEventRecord(start_, stream));
    fn();
    FS_CUDA(cudaEventRecord(stop_, stream));
    FS_CUDA(cudaEventSynchronize(stop_));
    float ms = 0.f;
    FS_CUDA(cudaEventElapsedTime(&ms, start_, stop_));
    return ms * 1e-3;
  };
  // The first run also absorbs one-time costs (module load, cuBLASLt kernel selection), so it is
  // never a sample. Its duration sizes the warm-up and the repeat count: every case gets at least
  // 3 samples, and cheap cases get up to opts.repeats within a per-case budget, which keeps the
  // full sweep near ten minutes on one H100.
  const double first = std::max(timed_run(0), 1e-7);
  const double budget = opts.quick ? 0.05 : 0.15;
  const int warm = std::clamp(static_cast<int>(0.05 / first), 0, std::max(0, opts.warmup - 1));
  for (int i = 0; i < warm; ++i) timed_run(i + 1);
  const int repeats = std::clamp(static_cast<int>(budget / first), std::min(3, opts.repeats), std::max(1, opts.repeats));
  Timing t;
  for (int i = 0; i < repeats; ++i) t.samples_s.push_back(timed_run(i + 1));
  std::vector<double> sorted = t.samples_s;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  t.median_s = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  return t;
}

void Context::check_written(const std::function<void()>& fn, void* out, std::size_t elems, DType dtype,
                            const std::string& what) {
  kernels::poison(out, elems * kernels::dtype_size(dtype), stream);
  fn();
  const int64_t bad = kernels::count_nonfinite(out, static_cast<int64_t>(elems), dtype, stream);
  if (bad != 0)
    throw KernelError(what + ": " + std::to_string(bad) + " of " + std::to_string(elems) +
                      " outputs unwritten or non-finite after poisoning");
}

void Context::record(nlohmann::json m, const Timing& t) {
  // The fitter rejects non-positive times; a median of 0 means the op is below event resolution.
  if (!(t.median_s > 0)) {
    fail(m.value("op", "?"), m.dump(), "median time is not positive (below CUDA event resolution)");
    return;
  }
  m["time_s"] = t.median_s;
  m["samples_s"] = t.samples_s;
  measurements.push_back(std::move(m));
}

void Context::fail(const std::string& op, const std::string& what, const std::string& message) {
  std::cerr << "  FAILED " << op << " " << what << ": " << message << "\n";
  errors.push_back({{"op", op}, {"case", what}, {"error", message}});
}

bool Context::guarded(const std::string& op, const std::string& what, const std::function<void()>& body) {
  try {
    body();
    return true;
  } catch (const kernels::UnsupportedError& e) {
    cudaGetLastError();
    std::cerr << "  unsupported " << op << " " << what << ": " << e.what() << "\n";
    unsupported.push_back({{"op", op}, {"case", what}, {"reason", e.what()}});
    return false;
  } catch (const std::exception& e) {
    // Clear a sticky launch error so later cases are not reported against this one. A device
    // fault (illegal address) is not recoverable in-process; the next CUDA call will say so.
    cudaGetLastError();
    fail(op, what, e.what());
    return false;
  }
}

}  // namespace detail

int run_sweep(const SweepOptions& opts) {
  int ndev = 0;
  const cudaError_t e = cudaGetDeviceCount(&ndev);
  if (e != cudaSuccess || ndev == 0) {
    std::cerr << "foresight-calibrate: no CUDA GPU available ("
              << (e != cudaSuccess ? cudaGetErrorString(e) : "0 devices") << "); nothing measured\n";
    return 3;
  }
  if (opts.out_path.empty()) {
    std::cerr << "foresight-calibrate: no output path given\n";
    return 5;
  }
  const auto t0 = std::chrono::steady_clock::now();
  nlohmann::json doc;
  doc["schema"] = "foresight-raw/1";
  doc["provenance"] = detail::collect_provenance();
  doc["provenance"]["sweep"] = {{"quick", opts.quick}, {"only", opts.only}, {"repeats", opts.repeats},
                                {"warmup", opts.warmup}, {"budget_s", opts.budget_s}};
  std::cerr << "foresight-calibrate: " << doc["provenance"]["gpu_name"].get<std::string>() << " x" << ndev << "\n";

  detail::Context ctx(opts);
  auto write = [&]() {
    doc["measurements"] = ctx.measurements;
    if (!ctx.skipped.empty()) doc["provenance"]["skipped"] = ctx.skipped;
    if (!ctx.unsupported.empty()) doc["provenance"]["unsupported"] = ctx.unsupported;
    if (!ctx.errors.empty()) doc["errors"] = ctx.errors;
    std::ofstream out(opts.out_path);
    out << doc.dump(1) << "\n";
    return static_cast<bool>(out);
  };
  struct Section {
    const char* name;
    void (*fn)(detail::Context&);
    double budget_s;  // full sweep; quick mode gets a quarter
  };
  // About ten minutes on one H100 in all; the budgets only bite if a GPU is much slower than
  // expected, and what was skipped is recorded in provenance.skipped.
  const Section sections[] = {{"gemm", detail::sweep_gemm, 240},
                              {"attention", detail::sweep_attention, 150},
                              {"decode_attention", detail::sweep_decode_attention, 40},
                              {"memory", detail::sweep_memory, 60},
                              {"collectives", detail::sweep_collectives, 150}};
  for (const auto& s : sections) {
    const auto ts = std::chrono::steady_clock::now();
    const std::size_t before = ctx.measurements.size();
    std::cerr << "[" << s.name << "]\n";
    const double share = s.budget_s * opts.budget_s / 640.0;
    ctx.start_section(opts.quick ? share / 4 : share);
    ctx.guarded(s.name, "section", [&] { s.fn(ctx); });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
    // Clocks right after each section's load: the idle clocks read at start say little about the
    // clocks the kernels ran at (an H200 idles near 345 MHz and boosts to 1980).
    nlohmann::json clk = detail::read_nvml_clocks();
    clk.erase("driver");
    if (!clk.empty()) doc["provenance"]["clocks_after_section"][s.name] = clk;
    std::cerr << "[" << s.name << "] " << ctx.measurements.size() - before << " measurements in " << secs << " s\n";
    // Written after every section so an interrupted run keeps what it measured.
    if (!write()) {
      std::cerr << "foresight-calibrate: cannot write " << opts.out_path << "\n";
      return 5;
    }
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << "foresight-calibrate: " << ctx.measurements.size() << " measurements, " << ctx.errors.size()
            << " failures, " << total << " s -> " << opts.out_path << "\n";
  return ctx.errors.empty() ? 0 : 4;
}

}  // namespace foresight::calibrate
