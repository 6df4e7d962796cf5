// Error checking that turns CUDA-runtime status codes into exceptions carrying file:line.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "kernels/dtype.hpp"

namespace foresight::kernels {

inline void cuda_check(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess)
    throw KernelError(std::string(file) + ":" + std::to_string(line) + ": " + what + ": " +
                      cudaGetErrorString(e));
}

}  // namespace foresight::kernels

#define FS_CUDA(expr) ::foresight::kernels::cuda_check((expr), #expr, __FILE__, __LINE__)
// A launch error is only visible through cudaGetLastError; check right after every launch.
#define FS_CUDA_LAUNCH() FS_CUDA(cudaGetLastError())
