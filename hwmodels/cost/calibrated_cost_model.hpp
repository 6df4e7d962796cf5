#pragma once
// ComputeCostModel backed by a measured profile. Inside a kernel family's measured region the time
// comes from its fitted curve; for anything else (unknown dtype, op or shape outside the measured
// range) it answers from the fitted roofline or, lacking a fit, the datasheet roofline, and marks the
// Estimate as extrapolated.
#include <optional>
#include <string>

#include "hwmodels/catalog/catalog.hpp"
#include "hwmodels/cost/cost_model.hpp"
#include "hwmodels/cost/kernel_work.hpp"
#include "hwmodels/profile.hpp"

namespace foresight::hw {

class CalibratedCostModel : public ComputeCostModel {
 public:
  // The GPU's datasheet roofline (at each query's dtype) answers where the profile has no fit.
  CalibratedCostModel(Profile profile, const GpuSpec& gpu);
  // The same with one fallback peak for every dtype (tests, profiles of unknown GPUs).
  CalibratedCostModel(Profile profile, double peak_flops, double memory_bandwidth);

  Estimate gemm(const GemmQuery& q) const override;
  Estimate attention(const AttentionQuery& q) const override;
  Estimate memory_op(const MemoryOpQuery& q) const override;
  std::string provenance() const override;

  const Profile& profile() const { return profile_; }

 private:
  Estimate from_fit(const ComputeFit* fit, const KernelWork& w, const std::string& dtype) const;
  double fallback_peak(const std::string& dtype) const;

  Profile profile_;
  std::optional<GpuSpec> gpu_;
  double peak_flops_;
  double memory_bandwidth_;
  std::string source_;
};

}  // namespace foresight::hw
