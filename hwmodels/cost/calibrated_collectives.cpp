#include "hwmodels/cost/calibrated_collectives.hpp"

namespace foresight::hw {

CalibratedCollectives::CalibratedCollectives(Profile profile)
    : CalibratedCollectives(std::make_shared<const Profile>(std::move(profile))) {}

CalibratedCollectives::CalibratedCollectives(std::shared_ptr<const Profile> profile)
    : profile_(std::move(profile)), source_("profile:" + profile_->name) {}

bool CalibratedCollectives::measured_on(const std::string& system) const {
  const auto& prov = profile_->provenance;
  return !(prov.contains("system") && prov["system"].is_string() && prov["system"].get<std::string>() != system);
}

std::optional<AlphaBeta> CalibratedCollectives::fit(const std::string& op, int ranks, const std::string& algorithm,
                                                    const std::string& protocol) const {
  const CollectiveFit* c = profile_->find_collective(op, ranks, algorithm, protocol);
  if (!c) return std::nullopt;
  return AlphaBeta{c->alpha_s, c->beta_Bps, c->min_bytes, c->max_bytes};
}

std::optional<Estimate> CalibratedCollectives::time(const std::string& op, int ranks, double bytes,
                                                    const std::string& algorithm, const std::string& protocol) const {
  const CollectiveFit* c = profile_->find_collective(op, ranks, algorithm, protocol);
  if (!c) return std::nullopt;
  Estimate e;
  e.source = source_;
  e.seconds = collective_seconds(*c, bytes, &e.extrapolated);
  return e;
}

}  // namespace foresight::hw
