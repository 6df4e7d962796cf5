// Element types shared by the kernels, the harness and the GPU tests.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>

namespace foresight::kernels {

// tf32 is a compute mode over fp32 storage; it is a separate value so a GEMM request says which
// math it wants and the raw JSON records it under its own name.
enum class DType { f32, f16, bf16, e4m3, tf32 };

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "fp32";
    case DType::f16: return "fp16";
    case DType::bf16: return "bf16";
    case DType::e4m3: return "fp8_e4m3";
    case DType::tf32: return "tf32";
  }
  return "?";
}

inline std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: case DType::tf32: return 4;
    case DType::f16: case DType::bf16: return 2;
    case DType::e4m3: return 1;
  }
  return 0;
}

// Thrown for every CUDA / library failure so the harness can record the failing case and go on.
struct KernelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A library declined a valid request (cuBLASLt has no algorithm for a shape, the installed cuDNN
// has no engine for a graph, a backend was not built): a limit of the environment rather than a
// failure, which the harness records under provenance.unsupported.
struct UnsupportedError : KernelError {
  using KernelError::KernelError;
};

}  // namespace foresight::kernels
