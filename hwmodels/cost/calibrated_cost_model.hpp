#pragma once
// ComputeCostModel backed by a measured profile. A query is answered, in order, by the profile's
// measured table for its kernel (interpolated on the grid), by a fitted curve of our own harness,
// or by the GPU's roofline. Answers outside the measured region are flagged (Estimate::extrapolated)
// and every answer is counted by where it came from, so a report can say how much of a prediction
// was measured.
#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "hwmodels/catalog/catalog.hpp"
#include "hwmodels/cost/cost_model.hpp"
#include "hwmodels/cost/kernel_work.hpp"
#include "hwmodels/cost/roofline_cost_model.hpp"
#include "hwmodels/cost/table_lookup.hpp"
#include "hwmodels/profile.hpp"

namespace foresight::hw {

class CalibratedCostModel : public ComputeCostModel {
 public:
  // The GPU's roofline (tile and wave quantized) answers where the profile has nothing.
  CalibratedCostModel(std::shared_ptr<const Profile> profile, const GpuSpec& gpu);
  CalibratedCostModel(Profile profile, const GpuSpec& gpu);
  // The same with one fallback peak for every dtype (tests, profiles of unknown GPUs).
  CalibratedCostModel(Profile profile, double peak_flops, double memory_bandwidth);

  Estimate gemm(const GemmQuery& q) const override;
  Estimate attention(const AttentionQuery& q) const override;
  Estimate memory_op(const MemoryOpQuery& q) const override;
  Estimate decode_attention(const DecodeAttentionQuery& q) const override;
  std::optional<Estimate> routed_experts(const RoutedExpertsQuery& q) const override;
  std::string provenance() const override;
  CostUsage usage() const override;

  const Profile& profile() const { return *profile_; }

 private:
  Estimate from_fit(const ComputeFit* fit, const KernelWork& w, const std::string& dtype) const;
  Estimate fallback(Estimate roof) const;
  double fallback_peak(const std::string& dtype) const;
  Estimate counted(Estimate e, std::atomic<long>& bucket) const;

  std::shared_ptr<const Profile> profile_;
  std::optional<GpuSpec> gpu_;
  std::unique_ptr<RooflineCostModel> roofline_;
  double peak_flops_;
  double memory_bandwidth_;
  std::string source_;
  std::unique_ptr<TableChooser> tables_;  // after profile_ (it refers to it)
  mutable std::atomic<long> n_table_{0}, n_table_outside_{0}, n_fit_{0}, n_fit_outside_{0}, n_roofline_{0};
};

}  // namespace foresight::hw
