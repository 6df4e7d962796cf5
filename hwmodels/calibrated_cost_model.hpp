#pragma once
// ComputeCostModel backed by a measured profile. Inside a kernel family's measured region the time
// comes from its fitted curve; for anything else (unknown dtype, op or shape outside the measured
// range) it answers from the fitted roofline or, lacking a fit, the datasheet roofline, and marks the
// Estimate as extrapolated.
#include <optional>
#include <string>

#include "hwmodels/cost_model.hpp"
#include "hwmodels/kernel_work.hpp"
#include "hwmodels/profile.hpp"

namespace foresight::hw {

struct AlphaBeta {
  double alpha_s = 0;
  double beta_Bps = 0;
  double min_bytes = 0, max_bytes = 0;  // range the fit was measured over
};

class CalibratedCostModel : public ComputeCostModel {
 public:
  // peak_flops / memory_bandwidth: the datasheet roofline used where the profile has no fit at all.
  CalibratedCostModel(Profile profile, double peak_flops, double memory_bandwidth);

  Estimate gemm(const GemmQuery& q) const override;
  Estimate attention(const AttentionQuery& q) const override;
  Estimate memory_op(const MemoryOpQuery& q) const override;
  std::string provenance() const override;

  std::optional<AlphaBeta> collective(const std::string& op, int ranks, const std::string& algorithm = "auto",
                                      const std::string& protocol = "auto") const;
  // Calibrated time of one collective (measured table inside its range, alpha-beta outside, flagged).
  std::optional<Estimate> collective_time(const std::string& op, int ranks, double bytes,
                                          const std::string& algorithm = "auto",
                                          const std::string& protocol = "auto") const;

  const Profile& profile() const { return profile_; }

 private:
  Estimate from_fit(const ComputeFit* fit, const KernelWork& w) const;

  Profile profile_;
  double peak_flops_;
  double memory_bandwidth_;
  std::string source_;
};

}  // namespace foresight::hw
