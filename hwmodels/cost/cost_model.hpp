#pragma once
// The narrow interface between "what work is done" (planners) and "how long it takes" (hardware).
// RooflineCostModel answers from datasheet numbers; CalibratedCostModel answers from a measured
// profile and falls back to its fitted roofline outside the calibrated region, flagging it.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace foresight::hw {

struct GemmQuery {
  int64_t m = 0, n = 0, k = 0;    // C[m,n] = A[m,k] * B[k,n]
  int64_t batch = 1;              // independent GEMMs of the same shape
  std::string dtype = "bf16";     // bf16 | fp16 | fp8 | tf32 | fp32
};

struct AttentionQuery {
  int64_t batch = 1, seq_q = 0, seq_kv = 0, heads = 0, kv_heads = 0, head_dim = 0;
  bool causal = true;
  bool backward = false;
  std::string dtype = "bf16";
};

// Memory-bound ops: rmsnorm, layernorm, swiglu, gelu, rope, softmax_xent, add, copy, optimizer, ...
struct MemoryOpQuery {
  std::string op;
  double bytes = 0;               // bytes read + written
  double flops = 0;
};

// One step of a paged-attention decode batch: one query token per sequence, each against its own
// KV length (never a batch mean: the kernel reads every sequence's cache).
struct DecodeAttentionQuery {
  int64_t heads = 0, kv_heads = 0, head_dim = 0;   // per GPU (after tensor parallelism)
  const int64_t* context = nullptr;                // KV length of each sequence, `sequences` of them
  size_t sequences = 0;
  std::string dtype = "bf16";                      // query / output
  std::string kv_dtype = "bf16";                   // the KV cache's elements
};

// The routed experts of one mixture-of-experts layer on one GPU, for the tokens that GPU serves
// (every token of the step when attention is tensor-parallel), experts split moe_ep ways and each
// expert's FFN moe_tp ways; balanced routing.
struct RoutedExpertsQuery {
  int64_t tokens = 0, hidden = 0, inter = 0, top_k = 0, experts = 0, moe_tp = 1, moe_ep = 1;
  std::string dtype = "bf16";
};

struct Estimate {
  double seconds = 0;
  std::string source;             // "roofline" or "profile:<name>"
  bool extrapolated = false;      // true when the query lies outside a profile's measured region
};

// How many queries a cost model answered from measurements and how many from the roofline.
struct CostUsage {
  long table = 0, table_outside = 0;   // measured tables: inside the grid / scaled past its edge
  long fit = 0, fit_outside = 0;       // fitted curves of our own harness
  long roofline = 0;                   // datasheet roofline (no measurement covers the query)
  long total() const { return table + table_outside + fit + fit_outside + roofline; }
};

class ComputeCostModel {
 public:
  virtual ~ComputeCostModel() = default;
  virtual Estimate gemm(const GemmQuery& q) const = 0;
  virtual Estimate attention(const AttentionQuery& q) const = 0;
  virtual Estimate memory_op(const MemoryOpQuery& q) const = 0;
  // Default: the sum of one single-query attention() per sequence (a profile measured per sequence).
  virtual Estimate decode_attention(const DecodeAttentionQuery& q) const;
  // A measured MoE layer (NVIDIA AIConfigurator's `moe` tables) for exactly this shape, split and
  // dtype; nullopt when none was measured (callers then price grouped GEMMs).
  virtual std::optional<Estimate> routed_experts(const RoutedExpertsQuery&) const { return std::nullopt; }
  virtual std::string provenance() const = 0;   // one line: which profile / roofline, which GPU
  // Queries answered so far, by source (the roofline answers everything from the roofline).
  virtual CostUsage usage() const { return {}; }
};

// FLOP conventions shared by every cost model and planner.
double gemm_flops(const GemmQuery& q);            // 2*m*n*k*batch
// Forward 4*b*h*sq*skv*d; causal keeps what the mask leaves: half when sq == skv, and for a chunk of
// sq queries after skv - sq cached tokens, 4*b*h*d*sq*(skv - sq/2). Backward 2.5x.
double attention_flops(const AttentionQuery& q);
// 4*h*d per cached token of every sequence.
double decode_attention_flops(const DecodeAttentionQuery& q);

}  // namespace foresight::hw
