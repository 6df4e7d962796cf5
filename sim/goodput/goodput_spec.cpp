#include "sim/goodput/goodput_spec.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

namespace foresight::sim {

namespace {

double read_time(const YamlNode& n, const char* key, double fallback) {
  if (!n.has(key)) return fallback;
  const double v = n.at(key).as_quantity(units::Dimension::time);
  if (!(v >= 0) || !std::isfinite(v)) n.at(key).fail("must be a non-negative duration");
  return v;
}

}  // namespace

nlohmann::json GoodputSpec::describe() const {
  nlohmann::json j = training.describe();
  j["horizon_s"] = horizon_s;
  j["runs"] = runs;
  j["checkpoint_interval_s"] = checkpoint_auto ? nlohmann::json("auto") : nlohmann::json(checkpoint_interval_s);
  j["checkpoint_tier"] = tier;
  j["checkpoint_mode"] = async_checkpoint ? "async" : "sync";
  j["hot_spares"] = hot_spares;
  return j;
}

GoodputSpec parse_goodput(const YamlNode& model, const YamlNode& training, const YamlNode& f, const hw::Catalog& catalog,
                          int total_gpus, int nvlink_domain) {
  GoodputSpec s;
  s.training = parse_training(model, training, catalog, total_gpus, nvlink_domain);
  s.warnings = s.training.warnings;
  f.expect_only({"horizon", "runs", "causes", "scale_rates", "detection", "restart", "repair", "spares", "checkpoint",
                 "stragglers", "inject", "diurnal"});
  s.horizon_s = f.at("horizon").as_quantity(units::Dimension::time);
  if (!(s.horizon_s > 0)) f.at("horizon").fail("must be longer than 0 s");
  if (s.horizon_s > 10 * 365 * 86400.0) f.at("horizon").fail("more than ten years is not a training job");
  if (auto r = f.find("runs")) {
    s.runs = static_cast<int>(r->as_int_in(1, 100000));
  }
  // Causes: every catalog cause at its published rate, unless the scenario lists its own.
  double scale = 1;
  if (auto sc = f.find("scale_rates")) {
    scale = sc->as_double();
    if (!(scale >= 0) || !std::isfinite(scale)) sc->fail("must be a non-negative factor");
  }
  auto from_catalog = [&](const hw::FailureCauseSpec& c) {
    FailureCause x;
    x.id = c.id, x.name = c.name, x.category = c.category, x.unit = c.unit, x.rate = c.rate;
    x.needs_spare = c.needs_spare;
    auto src = c.sources.find("rate");
    x.source = src == c.sources.end() ? "" : src->second;
    return x;
  };
  const YamlNode* causes = nullptr;
  std::optional<YamlNode> cn = f.find("causes");
  if (cn && !(cn->is_scalar() && cn->as_string() == "default")) causes = &*cn;
  if (!causes) {
    for (const auto& [id, c] : catalog.failure_causes()) s.causes.push_back(from_catalog(c));
  } else {
    if (!causes->is_map()) causes->fail("expected 'default' or a mapping of cause id to {rate, unit, ...}");
    for (const auto& [id, n] : causes->entries()) {
      n.expect_only({"rate", "unit", "needs_spare", "distribution", "shape", "name"});
      FailureCause x;
      auto known = catalog.failure_causes().find(id);
      if (known != catalog.failure_causes().end()) x = from_catalog(known->second);
      x.id = id;
      if (x.name.empty()) x.name = id;
      if (auto v = n.find("name")) x.name = v->as_string();
      if (auto v = n.find("unit")) x.unit = v->as_choice({"gpu", "host", "nic", "switch"});
      if (x.unit.empty()) n.fail(fmt::format("cause '{}' is not in the catalog: give its unit (gpu, host, nic or switch)", id));
      if (auto v = n.find("rate")) {
        x.rate = v->as_quantity(units::Dimension::rate);
        if (!(x.rate >= 0)) v->fail("a failure rate cannot be negative");
        x.source = "scenario";
      } else if (known == catalog.failure_causes().end()) {
        n.fail(fmt::format("cause '{}' is not in the catalog: give its rate per unit (e.g. 0.0002/d)", id));
      }
      if (auto v = n.find("needs_spare")) x.needs_spare = v->as_bool();
      if (auto v = n.find("distribution")) x.distribution = v->as_choice({"exponential", "weibull"});
      if (auto v = n.find("shape")) {
        x.weibull_shape = v->as_double();
        if (!(x.weibull_shape > 0) || x.weibull_shape > 20) v->fail("a Weibull shape is between 0 and 20");
        if (x.distribution != "weibull") v->fail("shape applies to distribution: weibull");
      }
      s.causes.push_back(x);
    }
  }
  for (auto& c : s.causes) c.rate *= scale;
  if (auto d = f.find("diurnal")) {
    s.diurnal_swing = d->as_double();
    if (!(s.diurnal_swing >= 0) || s.diurnal_swing >= 1) d->fail("a peak-to-trough throughput swing between 0 and 1 (0.02 = 2 %)");
  }
  if (auto inj = f.find("inject")) {
    for (const auto& item : inj->items()) {
      const double t = item.as_quantity(units::Dimension::time);
      if (!(t >= 0) || t > s.horizon_s) item.fail("an injected failure must fall inside the horizon");
      s.injected_s.push_back(t);
    }
    std::sort(s.injected_s.begin(), s.injected_s.end());
  }
  // Recovery: detection and restart defaults from the published runs (MegaScale detects and
  // diagnoses in under 10 minutes and is back to the pre-crash progress within 15; we take 10 and
  // 10 minutes), repair of a failed server when no spare is left: a working day.
  s.detection_s = read_time(f, "detection", 600);
  s.restart_s = read_time(f, "restart", 600);
  s.repair_s = read_time(f, "repair", 8 * 3600.0);
  if (auto sp = f.find("spares")) {
    sp->expect_only({"hot"});
    if (auto h = sp->find("hot")) {
      s.hot_spares = static_cast<int>(h->as_int_in(0, 1'000'000));
    }
  }
  const YamlNode ck = f.at("checkpoint");
  ck.expect_only({"interval", "tier", "mode", "size"});
  const YamlNode iv = ck.at("interval");
  if (iv.is_scalar() && iv.as_string() == "auto") {
    s.checkpoint_auto = true;
  } else {
    s.checkpoint_interval_s = iv.as_quantity(units::Dimension::time);
    if (!(s.checkpoint_interval_s > 0)) iv.fail("must be longer than 0 s (or auto)");
    if (s.checkpoint_interval_s > s.horizon_s)
      iv.fail(fmt::format("is longer than the horizon ({} s): the job would never checkpoint", s.horizon_s));
  }
  const YamlNode tn = ck.at("tier");
  s.tier = tn.as_string();
  if (!catalog.storage_tiers().count(s.tier)) {
    std::string ids;
    for (const auto& [id, _] : catalog.storage_tiers()) ids += (ids.empty() ? "" : ", ") + id;
    tn.fail(fmt::format("unknown storage tier '{}'; the catalog has: {}", s.tier, ids));
  }
  const auto& tier = catalog.storage_tier(s.tier);
  s.tier_write_Bps = tier.write_bandwidth, s.tier_read_Bps = tier.read_bandwidth;
  s.tier_per_node = tier.per_node;
  if (auto m = ck.find("mode")) s.async_checkpoint = m->as_choice({"sync", "async"}) == "async";
  if (auto z = ck.find("size")) {
    if (!(z->is_scalar() && z->as_string() == "auto")) {
      s.checkpoint_bytes = z->as_quantity(units::Dimension::bytes);
      if (!(s.checkpoint_bytes > 0)) z->fail("must be larger than 0 B (or auto)");
    }
  }
  if (auto st = f.find("stragglers")) {
    st->expect_only({"rate", "slowdown", "detect"});
    s.straggler_rate = st->at("rate").as_quantity(units::Dimension::rate);
    if (!(s.straggler_rate >= 0)) st->at("rate").fail("cannot be negative");
    s.straggler_slowdown = st->at("slowdown").as_double();
    if (!(s.straggler_slowdown >= 1) || s.straggler_slowdown > 100) st->at("slowdown").fail("a step-time factor between 1 and 100");
    s.straggler_detect_s = read_time(*st, "detect", 1800);
  }
  return s;
}

}  // namespace foresight::sim
