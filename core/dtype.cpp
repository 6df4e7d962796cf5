#include "core/dtype.hpp"

namespace foresight {

std::string canonical_dtype(const std::string& dtype) {
  if (dtype == "fp8_e4m3" || dtype == "e4m3" || dtype == "fp8e4m3") return "fp8";
  if (dtype == "float" || dtype == "float32") return "fp32";
  if (dtype == "half" || dtype == "float16") return "fp16";
  if (dtype == "bfloat16") return "bf16";
  if (dtype == "double" || dtype == "float64") return "fp64";
  return dtype;
}

double dtype_size(const std::string& dtype) {
  const std::string d = canonical_dtype(dtype);
  if (d == "fp8" || d == "fp8_e5m2" || d == "int8") return 1;
  if (d == "bf16" || d == "fp16") return 2;
  if (d == "tf32" || d == "fp32") return 4;
  if (d == "fp64") return 8;
  if (d == "fp4") return 0.5;
  return 0;
}

}  // namespace foresight
