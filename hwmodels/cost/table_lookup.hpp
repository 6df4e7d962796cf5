#pragma once
// Answers cost-model queries from a profile's measured tables (GEMM over (m, n, k); context attention
// over (batch, sequence); decode attention over (batch, context)). Each answer says whether the query
// lay inside the measured grid; outside it the nearest edge of the grid is scaled by the work ratio
// (a kernel past the largest measured shape is compute or bandwidth bound, so its time grows with
// its work; below the smallest one it is at its latency floor) and flagged.
#include <optional>

#include "hwmodels/cost/cost_model.hpp"
#include "hwmodels/profile.hpp"

namespace foresight::hw {

struct TableAnswer {
  double seconds = 0;
  bool outside = false;       // some axis beyond the measured grid, or a table for other head counts
  const KernelTable* table = nullptr;
};

// nullopt when the profile has no table for the op and dtype (fp16 is answered by bf16 tables:
// the two share tensor-core rates and kernels).
std::optional<TableAnswer> table_gemm(const Profile& p, const GemmQuery& q);
// Forward attention; a chunk after cached context is priced as the measured causal kernel over the
// whole context scaled by the FLOP ratio; backward is not measured in these tables (nullopt).
std::optional<TableAnswer> table_attention(const Profile& p, const AttentionQuery& q);
// One decode step's attention over the batch at its mean context (the kernel reads every sequence's
// cache: time follows total KV, which the mean preserves).
std::optional<TableAnswer> table_decode_attention(const Profile& p, const DecodeAttentionQuery& q);

}  // namespace foresight::hw
