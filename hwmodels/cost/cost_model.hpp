#pragma once
// The narrow interface between "what work is done" (planners) and "how long it takes" (hardware).
// RooflineCostModel answers from datasheet numbers; CalibratedCostModel answers from a measured
// profile and falls back to its fitted roofline outside the calibrated region, flagging it.
#include <cstdint>
#include <memory>
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

struct Estimate {
  double seconds = 0;
  std::string source;             // "roofline" or "profile:<name>"
  bool extrapolated = false;      // true when the query lies outside a profile's measured region
};

class ComputeCostModel {
 public:
  virtual ~ComputeCostModel() = default;
  virtual Estimate gemm(const GemmQuery& q) const = 0;
  virtual Estimate attention(const AttentionQuery& q) const = 0;
  virtual Estimate memory_op(const MemoryOpQuery& q) const = 0;
  virtual std::string provenance() const = 0;   // one line: which profile / roofline, which GPU
};

// FLOP conventions shared by every cost model and planner.
double gemm_flops(const GemmQuery& q);            // 2*m*n*k*batch
double attention_flops(const AttentionQuery& q);  // forward 4*b*h*sq*skv*d (halved if causal); backward 2.5x

}  // namespace foresight::hw
