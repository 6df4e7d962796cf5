#pragma once
// Answers cost-model queries from a profile's measured tables (GEMM over (m, n, k); context attention
// over (batch, sequence); decode attention over (batch, context)). Each answer says whether the query
// lay inside the measured grid; outside it the nearest edge of the grid is scaled by the work ratio
// (a kernel past the largest measured shape is compute or bandwidth bound, so its time grows with
// its work; below the smallest one it is at its latency floor) and flagged.
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "hwmodels/cost/cost_model.hpp"
#include "hwmodels/profile.hpp"

namespace foresight::hw {

struct TableAnswer {
  double seconds = 0;
  bool outside = false;       // some axis beyond the measured grid, or a table for other head counts
  const KernelTable* table = nullptr;
};

// Which table answers a (op, dtype, kv dtype, heads, kv heads, head dim) key, remembered: serving
// asks for the same few keys at every step, and a profile holds hundreds of tables.
class TableChooser {
 public:
  explicit TableChooser(const Profile& p) : p_(p) {}
  const KernelTable* find(const std::string& op, const std::string& dtype, const std::string& kv_dtype = "",
                          const std::map<std::string, int64_t>& keys = {}) const;
  const Profile& profile() const { return p_; }

 private:
  const Profile& p_;
  mutable std::mutex mu_;
  mutable std::map<std::string, const KernelTable*> memo_;
};

// nullopt when the profile has no table for the op and dtype (fp16 is answered by bf16 tables:
// the two share tensor-core rates and kernels).
std::optional<TableAnswer> table_gemm(const TableChooser& p, const GemmQuery& q);
// Forward attention; a chunk after cached context is priced as the measured causal kernel over the
// whole context scaled by the FLOP ratio; backward is not measured in these tables (nullopt).
std::optional<TableAnswer> table_attention(const TableChooser& p, const AttentionQuery& q);
// A measured MoE layer of exactly the query's shape and split (no other shape stands in: the
// tables differ by model); fp8 is answered by block-scaled (fp8_block) tables first.
std::optional<TableAnswer> table_routed_experts(const TableChooser& p, const RoutedExpertsQuery& q);
// One decode step's attention over the batch at its mean context (the kernel reads every sequence's
// cache: time follows total KV, which the mean preserves).
std::optional<TableAnswer> table_decode_attention(const TableChooser& p, const DecodeAttentionQuery& q);

}  // namespace foresight::hw
