#pragma once
// Single-operation cost queries: what one GEMM, attention kernel, memory-bound op or collective costs
// on a GPU or system, and where the answer came from (a measured profile or the roofline). What a
// user checks a profile with (`foresight cost ...`, foresight.cost in Python).
#include <string>
#include <vector>

namespace foresight::api {

struct CostRequest {
  std::string op;                    // gemm | attention | decode_attention | memory | collective
  std::string gpu;                   // catalog GPU id (kernels)
  std::string system;                // catalog system id (collectives; its GPU prices nothing here)
  std::string calibration = "auto";  // auto | roofline | trtllm | vllm | sglang | a profile file
  std::string auto_family = "vllm";  // the kernel family `auto` stands for
  std::vector<std::string> catalog_files;
  // A JSON array of shape objects (keys per op in cost_query.cpp); errors name "shapes[i].key".
  std::string shapes_json;
};

// JSON text: {"op", "gpu"/"system", "calibration": {source, why, profile}, "results": [...]}; each
// result has seconds, source, extrapolated and the achieved rate (tflops or gbps).
std::string cost(const CostRequest& request);

}  // namespace foresight::api
