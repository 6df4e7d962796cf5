#pragma once
// A measured latency table of one kernel family (from a measured database such as AIConfigurator's,
// or our own sweeps): latency on a grid of shape axes, e.g. GEMM over (m, n, k) or decode attention
// over (batch, context) for fixed (heads, kv_heads, head_dim). A query between grid points is
// interpolated multilinearly in log(axis) and log(latency); outside the grid the nearest edge is
// used and the query is flagged; the caller scales by the work ratio (it knows the op's FLOPs).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hwmodels/profile_error.hpp"

namespace foresight::hw {

struct KernelTable {
  std::string op;                  // gemm | attention | decode_attention | moe
  std::string family;              // framework / kernel family: trtllm, vllm, sglang, ...
  std::string dtype;               // compute dtype (gemm: fp8, fp8_block, bf16, fp4; attention: bf16)
  std::string kv_dtype;            // attention tables: the KV cache's dtype
  std::map<std::string, int64_t> keys;        // fixed shape parameters: heads, kv_heads, head_dim
  std::vector<std::string> axes;              // e.g. m, n, k
  std::vector<std::vector<double>> values;    // strictly increasing positive values per axis
  std::vector<double> seconds;                // row-major over the axes; NaN where not measured
  std::vector<std::string> kernels;           // the kernels measured
  HeldOutError held_out;                      // interior grid points predicted from their neighbours

  size_t size() const { return seconds.size(); }
  // Latency at `coords` (one per axis). *outside: some coordinate lay beyond the grid (clamped).
  // Empty when every cell around the point is unmeasured.
  std::optional<double> lookup(const std::vector<double>& coords, bool* outside = nullptr) const;
  // Same, with the cell at flat index `skip` treated as unmeasured (for held-out checks).
  std::optional<double> lookup_without(const std::vector<double>& coords, size_t skip) const;
};

// Every interior measured cell predicted with its grid lines removed (leave-one-out at half density).
// `apes`, when given, receives each cell's |pred - measured| / measured.
HeldOutError table_held_out_error(const KernelTable& t, std::vector<double>* apes = nullptr);

}  // namespace foresight::hw
