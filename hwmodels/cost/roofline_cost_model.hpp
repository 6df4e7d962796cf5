#pragma once
// Datasheet roofline: time = max(FLOPs / (peak * compute efficiency), bytes / (HBM bw * memory
// efficiency)) + launch overhead, GEMM FLOPs padded to whole tiles and waves of the GPU's SMs. The efficiencies are published achievable fractions per GPU
// generation (sources in roofline_cost_model.cpp), never fitted to the validation tables.
#include <string>

#include "hwmodels/catalog/catalog.hpp"
#include "hwmodels/cost/cost_model.hpp"

namespace foresight::hw {

struct RooflineEfficiency {
  double gemm = 0.8;             // achievable fraction of dense peak for large GEMMs
  double gemm_fp8 = 0.8;         // the same for FP8 GEMMs (FP8 tensor cores run further from peak)
  double attention = 0.5;        // fused attention kernels, fraction of dense peak
  double memory = 0.85;          // achievable fraction of HBM bandwidth (STREAM-like)
  double launch_overhead_s = 2e-6;
  std::string source;            // where these came from, one line
};

// Published efficiencies for the GPU's generation (by GpuSpec::architecture or id).
RooflineEfficiency default_efficiency(const GpuSpec& gpu);

class RooflineCostModel : public ComputeCostModel {
 public:
  explicit RooflineCostModel(GpuSpec gpu);
  RooflineCostModel(GpuSpec gpu, RooflineEfficiency eff);
  Estimate gemm(const GemmQuery& q) const override;
  Estimate attention(const AttentionQuery& q) const override;
  Estimate memory_op(const MemoryOpQuery& q) const override;
  // One paged-attention kernel over the batch: every sequence's KV read once, in the cache dtype.
  Estimate decode_attention(const DecodeAttentionQuery& q) const override;
  std::string provenance() const override;
  const RooflineEfficiency& efficiency() const { return eff_; }

 private:
  double peak(const std::string& dtype) const;
  struct Quantized {
    double flops = 0;        // FLOPs the GPU spends: padded to whole tiles, and waves where they idle SMs
    double extra_bytes = 0;  // split-K partial sums
  };
  Quantized quantized(const GemmQuery& q) const;
  double roofline(double flops, double peak_rate, double efficiency, double bytes) const;
  GpuSpec gpu_;
  RooflineEfficiency eff_;
};

}  // namespace foresight::hw
