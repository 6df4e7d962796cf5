#include "calibrate/fit/raw.hpp"

#include <algorithm>

#include "core/dtype.hpp"
#include "core/json_input.hpp"

namespace foresight::calibrate {

using foresight::JsonInput;
using nlohmann::json;

bool is_memory_op(const std::string& op) {
  static const char* ops[] = {"rmsnorm", "layernorm", "swiglu", "gelu", "rope", "softmax_xent", "add", "copy"};
  return std::find(std::begin(ops), std::end(ops), op) != std::end(ops);
}

bool is_collective_op(const std::string& op) {
  static const char* ops[] = {"all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv"};
  return std::find(std::begin(ops), std::end(ops), op) != std::end(ops);
}

int RawFile::sm_count() const {
  auto it = provenance.find("sm_count");
  if (it != provenance.end() && it->is_number_integer()) return it->get<int>();
  return 0;
}

namespace {

int64_t dim(const JsonInput& in, const json& shape, const std::string& p, const std::string& key) {
  long long v = in.integer(shape, p, key);
  if (v < 1) in.fail(JsonInput::join(p, key), "must be >= 1");
  return v;
}

int64_t dim_or(const JsonInput& in, const json& shape, const std::string& p, const std::string& key, int64_t dflt) {
  return shape.contains(key) ? dim(in, shape, p, key) : dflt;
}

RawMeasurement parse_measurement(const JsonInput& in, const json& m, const std::string& p) {
  in.expect_object(m, p);
  RawMeasurement r;
  r.op = in.string(m, p, "op");
  r.backend = in.string(m, p, "backend");
  r.time_s = in.positive(m, p, "time_s");
  const json& shape = in.object(m, p, "shape");
  const std::string sp = JsonInput::join(p, "shape");
  if (m.contains("cache")) r.cache = in.string(m, p, "cache");

  if (is_collective_op(r.op)) {
    r.cls = OpClass::collective;
    r.msg_bytes = in.positive(shape, sp, "bytes");
    r.ranks = static_cast<int>(dim(in, shape, sp, "ranks"));
    if (m.contains("algorithm")) r.algorithm = hw::canonical_nccl_name(in.string(m, p, "algorithm"));
    if (m.contains("protocol")) r.protocol = hw::canonical_nccl_name(in.string(m, p, "protocol"));
    if (m.contains("dtype")) r.dtype = canonical_dtype(in.string(m, p, "dtype"));
    return r;
  }

  r.dtype = canonical_dtype(in.string(m, p, "dtype"));
  if (dtype_size(r.dtype) == 0) in.fail(JsonInput::join(p, "dtype"), "unknown dtype \"" + r.dtype + "\"");
  if (r.op == "gemm") {
    r.cls = OpClass::gemm;
    r.work = hw::gemm_work(dim(in, shape, sp, "m"), dim(in, shape, sp, "n"), dim(in, shape, sp, "k"),
                           dim_or(in, shape, sp, "batch", 1), r.dtype);
  } else if (r.op == "attention") {
    r.cls = OpClass::attention;
    r.direction = in.string(m, p, "direction");
    if (r.direction != "forward" && r.direction != "backward")
      in.fail(JsonInput::join(p, "direction"), "expected \"forward\" or \"backward\", got \"" + r.direction + "\"");
    const int64_t heads = dim(in, shape, sp, "heads");
    r.work = hw::attention_work(dim(in, shape, sp, "batch"), dim(in, shape, sp, "seq_q"), dim(in, shape, sp, "seq_kv"),
                                heads, dim_or(in, shape, sp, "kv_heads", heads), dim(in, shape, sp, "head_dim"),
                                in.boolean(shape, sp, "causal"), r.direction == "backward", r.dtype);
  } else if (r.op == "decode_attention") {
    r.cls = OpClass::decode_attention;
    const int64_t heads = dim(in, shape, sp, "heads");
    r.work = hw::decode_attention_work(dim(in, shape, sp, "batch"), heads, dim_or(in, shape, sp, "kv_heads", heads),
                                       dim(in, shape, sp, "head_dim"), dim(in, shape, sp, "context_len"), r.dtype);
  } else if (is_memory_op(r.op)) {
    r.cls = OpClass::memory;
    // The harness knows what its kernel moved; the shape alone does not say (swiglu reads two inputs).
    r.work.bytes = in.positive(m, p, "bytes");
    r.work.flops = m.contains("flops") ? in.number(m, p, "flops") : 0.0;
    if (r.work.flops < 0) in.fail(JsonInput::join(p, "flops"), "must be >= 0");
  } else {
    in.fail(JsonInput::join(p, "op"), "unknown op \"" + r.op + "\"");
  }
  return r;
}

}  // namespace

RawFile raw_from_json(const json& j, const std::string& file) {
  JsonInput in(file);
  in.expect_object(j, "<root>");
  in.check_schema(j, "foresight-raw", 1);
  RawFile raw;
  raw.provenance = in.object(j, "", "provenance");
  if (raw.provenance.contains("sm_count")) {
    long long sms = in.integer(raw.provenance, "provenance", "sm_count");
    if (sms < 0) in.fail("provenance.sm_count", "must be >= 0");
  }
  raw.measurements = in.array(j, "", "measurements");
  if (raw.measurements.empty()) in.fail("measurements", "no measurements to fit");
  for (size_t i = 0; i < raw.measurements.size(); ++i) {
    RawMeasurement r = parse_measurement(in, raw.measurements[i], JsonInput::index("measurements", i));
    r.index = i;
    raw.points.push_back(std::move(r));
  }
  return raw;
}

RawFile load_raw(const std::string& path) {
  JsonInput in(path);
  return raw_from_json(in.parse_file(path), path);
}

}  // namespace foresight::calibrate
