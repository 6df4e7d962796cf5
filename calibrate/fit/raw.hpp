#pragma once
// The raw measurement file the GPU harness writes ("foresight-raw/1") and the fitter reads.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwmodels/cost/kernel_work.hpp"

namespace foresight::calibrate {

inline constexpr const char* kRawSchema = "foresight-raw/1";

enum class OpClass { gemm, attention, decode_attention, memory, collective };

bool is_memory_op(const std::string& op);
bool is_collective_op(const std::string& op);

struct RawMeasurement {
  size_t index = 0;                 // position in "measurements", for error messages and audits
  std::string op, backend, dtype, direction, cache;
  OpClass cls = OpClass::memory;
  double time_s = 0;
  hw::KernelWork work;              // compute ops: derived from the shape, as at query time
  // collectives
  double msg_bytes = 0;
  int ranks = 0;
  std::string algorithm = "auto", protocol = "auto";
};

struct RawFile {
  nlohmann::json provenance = nlohmann::json::object();
  nlohmann::json measurements = nlohmann::json::array();  // verbatim, for the profile's "raw"
  std::vector<RawMeasurement> points;
  int sm_count() const;
};

// Every malformed entry is an InputError naming the file and key path ("measurements[12].shape.m").
// Unknown extra keys inside a measurement are kept (the harness may record more than the fitter
// uses); unknown ops, dtypes and missing or non-positive numbers are errors.
RawFile raw_from_json(const nlohmann::json& j, const std::string& file);
RawFile load_raw(const std::string& path);

}  // namespace foresight::calibrate
