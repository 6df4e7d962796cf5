// Clocks and driver release read through NVML, loaded with dlopen at run time: the driver ships
// libnvidia-ml.so.1 on every GPU machine, while toolkits (this build machine's included) often lack
// nvml.h or its stub, so linking it would lose the clocks exactly where the build happens. Read-only:
// nothing here changes a clock, a power limit or any other GPU setting.
#include <cuda_runtime.h>
#include <dlfcn.h>

#include "calibrate/harness/harness_internal.hpp"

namespace foresight::calibrate::detail {
namespace {

// The few NVML entry points used, with their C signatures (nvml.h); the device handle is opaque.
using nvmlDevice_t = void*;
using InitFn = int (*)();
using ShutdownFn = int (*)();
using ByBusFn = int (*)(const char*, nvmlDevice_t*);
using ClockFn = int (*)(nvmlDevice_t, int, unsigned int*);
using DriverFn = int (*)(char*, unsigned int);
constexpr int kNvmlSuccess = 0;
constexpr int kClockSm = 1;   // NVML_CLOCK_SM
constexpr int kClockMem = 2;  // NVML_CLOCK_MEM

}  // namespace

nlohmann::json read_nvml_clocks() {
  nlohmann::json out;
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return out;
  auto sym = [&](const char* name) { return dlsym(lib, name); };
  auto init = reinterpret_cast<InitFn>(sym("nvmlInit_v2"));
  auto shutdown = reinterpret_cast<ShutdownFn>(sym("nvmlShutdown"));
  auto by_bus = reinterpret_cast<ByBusFn>(sym("nvmlDeviceGetHandleByPciBusId_v2"));
  auto clock = reinterpret_cast<ClockFn>(sym("nvmlDeviceGetClockInfo"));
  auto max_clock = reinterpret_cast<ClockFn>(sym("nvmlDeviceGetMaxClockInfo"));
  auto driver = reinterpret_cast<DriverFn>(sym("nvmlSystemGetDriverVersion"));
  if (init && shutdown && by_bus && clock && max_clock && init() == kNvmlSuccess) {
    char bus[32] = {0};
    nvmlDevice_t dev = nullptr;
    // By PCI bus id: NVML's index order need not match CUDA's.
    if (cudaDeviceGetPCIBusId(bus, sizeof(bus), 0) == cudaSuccess && by_bus(bus, &dev) == kNvmlSuccess) {
      unsigned int v = 0;
      if (clock(dev, kClockSm, &v) == kNvmlSuccess) out["sm_mhz"] = v;
      if (clock(dev, kClockMem, &v) == kNvmlSuccess) out["mem_mhz"] = v;
      if (max_clock(dev, kClockSm, &v) == kNvmlSuccess) out["max_sm_mhz"] = v;
      if (max_clock(dev, kClockMem, &v) == kNvmlSuccess) out["max_mem_mhz"] = v;
      out["source"] = "nvml";
    }
    char version[96] = {0};
    if (driver && driver(version, sizeof(version)) == kNvmlSuccess) out["driver"] = version;
    shutdown();
  }
  dlclose(lib);
  return out;
}

}  // namespace foresight::calibrate::detail
