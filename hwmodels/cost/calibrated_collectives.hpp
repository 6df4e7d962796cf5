#pragma once
// Collective times measured on real hardware (our harness, or imported nccl-tests logs and measured
// databases), read from a profile: the alpha-beta line, and the measured table inside its range.
// The one home for calibrated collective timing; the simulator's own NCCL model is sim/collectives.
#include <memory>
#include <optional>
#include <string>

#include "hwmodels/cost/cost_model.hpp"
#include "hwmodels/profile.hpp"

namespace foresight::hw {

struct AlphaBeta {
  double alpha_s = 0;
  double beta_Bps = 0;
  double min_bytes = 0, max_bytes = 0;  // range the fit was measured over
};

class CalibratedCollectives {
 public:
  explicit CalibratedCollectives(Profile profile);
  explicit CalibratedCollectives(std::shared_ptr<const Profile> profile);

  // Whether the profile was measured on `system` (or does not say where it was measured).
  bool measured_on(const std::string& system) const;
  std::optional<AlphaBeta> fit(const std::string& op, int ranks, const std::string& algorithm = "auto",
                               const std::string& protocol = "auto") const;
  // Measured table inside its range, alpha-beta outside it (flagged as extrapolated); nullopt when
  // the profile has no fit for this op, rank count, algorithm and protocol.
  std::optional<Estimate> time(const std::string& op, int ranks, double bytes, const std::string& algorithm = "auto",
                               const std::string& protocol = "auto") const;
  const Profile& profile() const { return *profile_; }
  // Whether the profile has any collective measurements.
  bool empty() const { return profile_->collectives.empty(); }

 private:
  std::shared_ptr<const Profile> profile_;
  std::string source_;
};

}  // namespace foresight::hw
