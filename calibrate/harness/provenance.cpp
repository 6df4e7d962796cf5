// Provenance of a calibration run: what GPU, at what clocks, with which software. Read-only:
// nothing here changes a GPU setting.
#include <cuda_runtime.h>
#include <unistd.h>

#include <ctime>
#include <string>

#include "calibrate/harness/harness_internal.hpp"
#include "kernels/collectives.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/cudnn_sdpa.hpp"
#include "kernels/gemm.hpp"


namespace foresight::calibrate::detail {
namespace {

std::string cuda_version_text(int v) {  // 13000 -> "13.0"
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

std::string iso_date_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

nlohmann::json collect_provenance() {
  nlohmann::json p;
  cudaDeviceProp prop{};
  FS_CUDA(cudaGetDeviceProperties(&prop, 0));
  int ndev = 0, drv = 0, rt = 0;
  FS_CUDA(cudaGetDeviceCount(&ndev));
  FS_CUDA(cudaDriverGetVersion(&drv));
  FS_CUDA(cudaRuntimeGetVersion(&rt));
  p["gpu_name"] = prop.name;
  p["sm_count"] = prop.multiProcessorCount;
  p["gpu_count"] = ndev;
  p["l2_bytes"] = prop.l2CacheSize;
  p["hbm_bytes"] = prop.totalGlobalMem;
  p["compute_capability"] = std::to_string(prop.major) + "." + std::to_string(prop.minor);
  p["cuda_runtime"] = cuda_version_text(rt);
  p["driver"] = cuda_version_text(drv);  // replaced by the driver release below when NVML is present

  // Peak clocks from the runtime (kHz); NVML, when the driver has it, gives the clocks at this moment.
  int sm_khz = 0, mem_khz = 0;
  cudaDeviceGetAttribute(&sm_khz, cudaDevAttrClockRate, 0);
  cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, 0);
  nlohmann::json clocks = {{"sm_mhz", sm_khz / 1000}, {"mem_mhz", mem_khz / 1000}, {"max_sm_mhz", sm_khz / 1000},
                           {"source", "cudaDeviceGetAttribute"}};
  nlohmann::json nvml = read_nvml_clocks();
  if (nvml.contains("driver")) p["driver"] = nvml["driver"];
  nvml.erase("driver");
  if (nvml.contains("source")) clocks = nvml;
  p["clocks"] = clocks;
  p["cublaslt"] = kernels::cublaslt_version_string();
  p["cudnn"] = kernels::CudnnSdpa::version_string();
  p["nccl"] = kernels::nccl_version_string();
  p["date"] = iso_date_utc();
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  p["host"] = host;
  return p;
}

}  // namespace foresight::calibrate::detail
