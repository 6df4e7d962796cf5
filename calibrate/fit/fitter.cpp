#include "calibrate/fit/fitter.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>

#include "calibrate/fit/alpha_beta.hpp"
#include "calibrate/fit/compute_fit.hpp"
#include "calibrate/fit/decode_tables.hpp"
#include "calibrate/fit/kfold.hpp"
#include "hwmodels/cost/kernel_work.hpp"

namespace foresight::calibrate {

namespace {

// HBM bandwidth for the memory term of GEMM/attention: the best copy bandwidth measured, else the
// best of any memory-bound op, else none (the intensity range check still flags skinny shapes).
double measured_bandwidth(const RawFile& raw) {
  double copy = 0, any = 0;
  for (const auto& p : raw.points) {
    if (p.cls != OpClass::memory || p.cache == "hot") continue;
    const double bw = p.work.bytes / p.time_s;
    any = std::max(any, bw);
    if (p.op == "copy") copy = std::max(copy, bw);
  }
  return copy > 0 ? copy : any;
}

hw::HeldOutError merge(const hw::HeldOutError& a, const hw::HeldOutError& b) {
  if (!a.available()) return b;
  if (!b.available()) return a;
  hw::HeldOutError m;
  m.points = a.points + b.points;
  m.folds = std::max(a.folds, b.folds);
  m.mape = (a.mape * a.points + b.mape * b.points) / m.points;
  m.max_ape = std::max(a.max_ape, b.max_ape);
  m.extrapolated = a.extrapolated + b.extrapolated;
  m.inside_points = a.inside_points + b.inside_points;
  m.inside_mape = m.inside_points > 0
                      ? (a.inside_mape * a.inside_points + b.inside_mape * b.inside_points) / m.inside_points
                      : 0;
  return m;
}

std::string pct(const hw::HeldOutError& e) {
  return e.available() ? fmt::format("{:6.2f} %", 100 * e.mape) : std::string("     n/a");
}

std::string pct_inside(const hw::HeldOutError& e) {
  return e.inside_points > 0 ? fmt::format("{:6.2f} %", 100 * e.inside_mape) : std::string("     n/a");
}

std::string pct_max(const hw::HeldOutError& e) {
  return e.available() ? fmt::format("{:6.2f} %", 100 * e.max_ape) : std::string("     n/a");
}

}  // namespace

void summarize_held_out(hw::Profile& p) {
  std::map<std::string, hw::HeldOutError> by_op;
  for (const auto& f : p.compute) by_op[f.op] = merge(by_op[f.op], f.held_out);
  // Collectives are judged in the bandwidth regime (>= 1 MiB), where the simulator spends its time.
  for (const auto& c : p.collectives) by_op[c.op] = merge(by_op[c.op], c.chosen_error());
  // Where an op has measured tables, they answer queries (CalibratedCostModel looks them up first),
  // so their error is the op's.
  std::map<std::string, hw::HeldOutError> by_table;
  for (const auto& t : p.tables) by_table[t.op] = merge(by_table[t.op], t.held_out);
  for (const auto& [op, e] : by_table) by_op[op] = e;
  p.held_out.clear();
  for (auto& [op, e] : by_op) p.held_out.push_back({op, e});
}

hw::Profile fit_profile(const RawFile& raw, const FitOptions& opt) {
  if (opt.folds < 2) throw std::invalid_argument("--folds must be >= 2");
  hw::Profile prof;
  prof.name = opt.name;
  prof.folds = opt.folds;
  prof.seed = opt.seed;
  prof.raw = raw.measurements;
  prof.provenance = raw.provenance;

  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  std::map<Key, std::vector<const RawMeasurement*>> compute;
  using CKey = std::tuple<std::string, int, std::string, std::string>;
  std::map<CKey, std::vector<SizedTime>> coll;
  std::map<std::string, int> counts;
  int hot = 0;
  for (const auto& p : raw.points) {
    ++counts[p.op];
    if (p.cls == OpClass::collective) {
      coll[{p.op, p.ranks, p.algorithm, p.protocol}].push_back({p.msg_bytes, p.time_s});
    } else if (p.cache == "hot") {
      ++hot;
    } else {
      compute[{p.op, p.backend, p.dtype, p.direction}].push_back(&p);
    }
  }
  // The harness records its sweep settings under "sweep"; the fit adds what it actually used.
  nlohmann::json& sweep = prof.provenance["sweep"];
  if (!sweep.is_object()) sweep = nlohmann::json::object();
  sweep["points"] = raw.points.size();
  sweep["points_by_op"] = counts;
  sweep["cache_hot_points_not_fitted"] = hot;

  ComputeGroupOptions gopt;
  gopt.max_knots = opt.max_knots;
  gopt.sm_count = raw.sm_count();
  gopt.memory_bandwidth = measured_bandwidth(raw);
  for (const auto& [key, pts] : compute) {
    hw::ComputeFit fit = fit_compute_group(pts, gopt);
    std::vector<double> measured;
    std::vector<size_t> shape_group;  // repeated timings of one shape are held out together
    std::map<std::tuple<double, double, double, double, double>, size_t> shapes;
    for (const auto* p : pts) {
      measured.push_back(p->time_s);
      const auto& w = p->work;
      shape_group.push_back(shapes.emplace(std::make_tuple(w.flops, w.bytes, w.rows, w.cols, w.groups), shapes.size()).first->second);
    }
    const auto& points = pts;  // structured bindings cannot be captured by clang 14
    const FitPredict fp = [&](const std::vector<size_t>& train, const std::vector<size_t>& test) {
      std::vector<const RawMeasurement*> tr;
      for (size_t i : train) tr.push_back(points[i]);
      const hw::ComputeFit f = fit_compute_group(tr, gopt);
      std::vector<HeldOutPrediction> out;
      for (size_t i : test) {
        const hw::Prediction pr = hw::predict(f, points[i]->work);
        out.push_back({pr.seconds, pr.extrapolated});
      }
      return out;
    };
    // A spline needs a few points per fold to mean anything; below that no error is claimed.
    fit.held_out = kfold_error(measured, opt.folds, opt.seed, fp, {}, 3, shape_group);
    prof.compute.push_back(std::move(fit));
  }
  for (const auto& [key, pts] : coll) {
    const auto& [op, ranks, algo, proto] = key;
    prof.collectives.push_back(fit_collective(op, ranks, algo, proto, pts, opt.folds, opt.seed));
  }
  add_decode_tables(raw, prof);
  summarize_held_out(prof);
  return prof;
}

std::string held_out_table(const hw::Profile& p) {
  std::string s = fmt::format("profile {} ({}-fold held-out error)\n", p.name, p.folds);
  s += fmt::format("  {:<50} {:>6} {:>9} {:>9} {:>6} {:>9}\n", "kernel family", "points", "MAPE", "max", "extrap",
                   "MAPE in");
  for (const auto& f : p.compute) {
    std::string name = f.op + "/" + f.backend + "/" + f.dtype + (f.direction.empty() ? "" : "/" + f.direction);
    if (f.tile > 0) name += fmt::format(" (tile {})", f.tile);
    s += fmt::format("  {:<50} {:>6} {:>9} {:>9} {:>6} {:>9}{}\n", name, f.points, pct(f.held_out), pct_max(f.held_out),
                     f.held_out.extrapolated, pct_inside(f.held_out),
                     f.monotonicity_adjustments ? fmt::format("  ({} monotonicity adjustments)", f.monotonicity_adjustments) : "");
  }
  for (const auto& c : p.collectives) {
    const std::string name = fmt::format("{}/{}r/{}/{}", c.op, c.ranks, c.algorithm, c.protocol);
    s += fmt::format("  {:<50} {:>6} alpha {:.3g} us, beta {:.4g} GB/s; MAPE alpha-beta {} (>=1MiB {}), "
                     "table >=1MiB {}; using the {}\n",
                     name, c.points, c.alpha_s * 1e6, c.beta_Bps / 1e9, pct(c.held_out), pct(c.held_out_large),
                     pct(c.table_held_out_large), c.use_table ? "table" : "line");
  }
  for (const auto& t : p.tables) {
    std::string keys;
    for (const auto& [k, v] : t.keys) keys += fmt::format("{}{}={}", keys.empty() ? "" : ",", k, v);
    const std::string name = fmt::format("{}/{}/{} table ({})", t.op, t.family, t.dtype, keys);
    s += fmt::format("  {:<50} {:>6} {:>9} {:>9} {:>6} {:>9}\n", name, t.held_out.points, pct(t.held_out),
                     pct_max(t.held_out), t.held_out.extrapolated, pct_inside(t.held_out));
  }
  s += "  per op kind:\n";
  for (const auto& e : p.held_out)
    s += fmt::format("    {:<20} MAPE {}  max {}  ({} points; {} inside the training range: MAPE {})\n", e.op,
                     pct(e.error), pct_max(e.error), e.error.points, e.error.inside_points, pct_inside(e.error));
  return s;
}

}  // namespace foresight::calibrate
