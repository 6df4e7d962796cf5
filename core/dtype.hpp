#pragma once
// Element types by name, as scenarios, profiles, measured databases and nccl-tests spell them.
// One canonical spelling per type ("fp8", "bf16", "fp16", "fp32", ...) and its size in bytes.
#include <string>

namespace foresight {

// "fp8_e4m3"/"e4m3" -> "fp8", "float"/"float32" -> "fp32", "half"/"float16" -> "fp16",
// "bfloat16" -> "bf16"; other names are returned unchanged.
std::string canonical_dtype(const std::string& dtype);

// Bytes per element of a canonical or alias name (tf32 is stored as fp32, fp4 packs two per byte);
// 0 for a name this build does not know.
double dtype_size(const std::string& dtype);

}  // namespace foresight
