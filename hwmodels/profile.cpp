#include "hwmodels/profile.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/dtype.hpp"
#include "core/json_input.hpp"
#include "core/text_file.hpp"
#include "core/error.hpp"

namespace foresight::hw {

using nlohmann::json;

const ComputeFit* Profile::find_compute(const std::string& op, const std::string& dtype,
                                        const std::string& direction, const std::string& backend) const {
  const std::string d = canonical_dtype(dtype);
  const ComputeFit* reference = nullptr;
  for (const auto& f : compute) {
    if (f.op == op && (d.empty() || f.dtype == d) && f.direction == direction &&
        (backend.empty() || f.backend == backend)) {
      // With no backend asked for, a library's kernel (cuBLASLt, cuDNN) answers before one of our
      // reference kernels: those are what frameworks run.
      if (!backend.empty() || !is_reference_backend(f.backend)) return &f;
      if (!reference) reference = &f;
    }
  }
  return reference;
}

bool is_reference_backend(const std::string& backend) { return backend.rfind("foresight-", 0) == 0; }

std::string canonical_nccl_name(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const CollectiveFit* Profile::find_collective(const std::string& op, int ranks, const std::string& algorithm,
                                              const std::string& protocol) const {
  const std::string a = canonical_nccl_name(algorithm), p = canonical_nccl_name(protocol);
  for (const auto& c : collectives)
    if (c.op == op && c.ranks == ranks && c.algorithm == a && c.protocol == p) return &c;
  return nullptr;
}

double collective_seconds(const CollectiveFit& fit, double bytes, bool* extrapolated) {
  const auto& t = fit.table;
  const bool inside = t.size() >= 2 && bytes >= t.front().first * (1 - 1e-12) && bytes <= t.back().first * (1 + 1e-12);
  if (extrapolated) *extrapolated = !inside;
  if (!inside || !fit.use_table) return fit.alpha_s + bytes / fit.beta_Bps;
  size_t hi = 1;
  while (hi + 1 < t.size() && t[hi].first < bytes) ++hi;
  const auto& a = t[hi - 1];
  const auto& b = t[hi];
  // Linear in bytes between neighbours: each interval is its own alpha-beta segment, exact when the
  // collective really is alpha + bytes/beta there, and it cannot overshoot a monotone table.
  const double f = std::clamp((bytes - a.first) / (b.first - a.first), 0.0, 1.0);
  return a.second + f * (b.second - a.second);
}

namespace {

json error_to_json(const HeldOutError& e) {
  if (!e.available()) return nullptr;  // too few points to hold any out: say so rather than print 0 %
  json j{{"points", e.points}, {"folds", e.folds}, {"mape", e.mape}, {"max_ape", e.max_ape},
         {"extrapolated", e.extrapolated}, {"inside_points", e.inside_points}, {"inside_mape", e.inside_mape}};
  if (e.median_ape > 0) j["median_ape"] = e.median_ape;
  return j;
}

HeldOutError error_from_json(const JsonInput& in, const json& obj, const std::string& path, const std::string& key) {
  HeldOutError e;
  const json& v = in.require(obj, path, key);
  if (v.is_null()) return e;
  const std::string p = JsonInput::join(path, key);
  in.expect_object(v, p);
  in.only_keys(v, p, {"points", "folds", "mape", "max_ape", "extrapolated", "inside_points", "inside_mape", "median_ape"});
  if (v.contains("median_ape")) e.median_ape = in.number(v, p, "median_ape");
  e.points = static_cast<int>(in.integer(v, p, "points"));
  e.folds = static_cast<int>(in.integer(v, p, "folds"));
  e.mape = in.number(v, p, "mape");
  e.max_ape = in.number(v, p, "max_ape");
  e.extrapolated = static_cast<int>(in.integer(v, p, "extrapolated"));
  e.inside_points = static_cast<int>(in.integer(v, p, "inside_points"));
  e.inside_mape = in.number(v, p, "inside_mape");
  if (e.inside_points < 0 || e.inside_mape < 0) in.fail(p, "held-out error fields must be >= 0");
  if (e.points < 0 || e.mape < 0 || e.max_ape < 0) in.fail(p, "held-out error fields must be >= 0");
  return e;
}

json compute_to_json(const ComputeFit& f) {
  json knots = json::array();
  for (const auto& [x, y] : f.knots) knots.push_back({x, y});
  return {{"op", f.op}, {"backend", f.backend}, {"dtype", f.dtype}, {"direction", f.direction},
          {"peak_flops", f.peak_flops}, {"peak_bandwidth", f.peak_bandwidth}, {"tile", f.tile},
          {"sm_count", f.sm_count}, {"knots", knots},
          {"range", {{"log_roofline_s", {f.min_log_r, f.max_log_r}},
                     {"log_intensity", f.intensity_checked ? json{f.min_log_intensity, f.max_log_intensity}
                                                           : json(nullptr)}}},
          {"points", f.points}, {"monotonicity_adjustments", f.monotonicity_adjustments},
          {"held_out", error_to_json(f.held_out)}};
}

std::pair<double, double> pair_from_json(const JsonInput& in, const json& v, const std::string& p) {
  if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number())
    in.fail(p, "expected an array of two numbers");
  double a = v[0].get<double>(), b = v[1].get<double>();
  if (!std::isfinite(a) || !std::isfinite(b)) in.fail(p, "expected finite numbers");
  return {a, b};
}

ComputeFit compute_from_json(const JsonInput& in, const json& v, const std::string& p) {
  in.expect_object(v, p);
  in.only_keys(v, p, {"op", "backend", "dtype", "direction", "peak_flops", "peak_bandwidth", "tile", "sm_count",
                      "knots", "range", "points", "monotonicity_adjustments", "held_out"});
  ComputeFit f;
  f.op = in.string(v, p, "op");
  f.backend = in.string(v, p, "backend");
  f.dtype = in.string(v, p, "dtype");
  f.direction = in.string(v, p, "direction");
  f.peak_flops = in.number(v, p, "peak_flops");
  f.peak_bandwidth = in.number(v, p, "peak_bandwidth");
  if (f.peak_flops < 0) in.fail(JsonInput::join(p, "peak_flops"), "must be >= 0");
  if (f.peak_bandwidth < 0) in.fail(JsonInput::join(p, "peak_bandwidth"), "must be >= 0");
  if (f.peak_flops == 0 && f.peak_bandwidth == 0) in.fail(JsonInput::join(p, "peak_flops"), "peak_flops and peak_bandwidth are both 0");
  // Physical bounds, orders of magnitude beyond any GPU: a value outside them is a damaged file.
  if (f.peak_flops > 1e18) in.fail(JsonInput::join(p, "peak_flops"), "above 1 EFLOP/s per GPU: not a measured peak");
  if (f.peak_bandwidth > 1e15) in.fail(JsonInput::join(p, "peak_bandwidth"), "above 1 PB/s per GPU: not a measured peak");
  f.tile = static_cast<int>(in.integer(v, p, "tile"));
  f.sm_count = static_cast<int>(in.integer(v, p, "sm_count"));
  if (f.tile < 0 || f.sm_count < 0) in.fail(JsonInput::join(p, "tile"), "tile and sm_count must be >= 0");
  const json& knots = in.array(v, p, "knots");
  const std::string kp = JsonInput::join(p, "knots");
  if (knots.empty()) in.fail(kp, "needs at least one knot");
  for (size_t i = 0; i < knots.size(); ++i) {
    f.knots.push_back(pair_from_json(in, knots[i], JsonInput::index(kp, i)));
    // Efficiency against the measured peak: between one in a million and twice the peak (fit noise).
    if (f.knots[i].second < std::log(1e-6) || f.knots[i].second > std::log(2.0))
      in.fail(JsonInput::index(kp, i), "log efficiency outside [ln 1e-6, ln 2]: not a fitted kernel");
    if (i > 0 && !(f.knots[i].first > f.knots[i - 1].first))
      in.fail(JsonInput::index(kp, i), "knot abscissae must be strictly increasing");
  }
  const json& range = in.object(v, p, "range");
  const std::string rp = JsonInput::join(p, "range");
  in.only_keys(range, rp, {"log_roofline_s", "log_intensity"});
  std::tie(f.min_log_r, f.max_log_r) = pair_from_json(in, in.require(range, rp, "log_roofline_s"),
                                                      JsonInput::join(rp, "log_roofline_s"));
  const json& li = in.require(range, rp, "log_intensity");
  if (!li.is_null()) {
    f.intensity_checked = true;
    std::tie(f.min_log_intensity, f.max_log_intensity) = pair_from_json(in, li, JsonInput::join(rp, "log_intensity"));
  }
  f.points = static_cast<int>(in.integer(v, p, "points"));
  f.monotonicity_adjustments = static_cast<int>(in.integer(v, p, "monotonicity_adjustments"));
  f.held_out = error_from_json(in, v, p, "held_out");
  return f;
}

json collective_to_json(const CollectiveFit& c) {
  json table = json::array();
  for (const auto& [b, t] : c.table) table.push_back({b, t});
  return {{"op", c.op}, {"ranks", c.ranks}, {"algorithm", c.algorithm}, {"protocol", c.protocol},
          {"alpha_s", c.alpha_s}, {"beta_Bps", c.beta_Bps}, {"min_bytes", c.min_bytes}, {"max_bytes", c.max_bytes},
          {"points", c.points}, {"held_out", error_to_json(c.held_out)},
          {"held_out_large", error_to_json(c.held_out_large)}, {"table", table},
          {"table_held_out_large", error_to_json(c.table_held_out_large)},
          {"monotonicity_adjustments", c.monotonicity_adjustments}, {"use_table", c.use_table}};
}

CollectiveFit collective_from_json(const JsonInput& in, const json& v, const std::string& p) {
  in.expect_object(v, p);
  in.only_keys(v, p, {"op", "ranks", "algorithm", "protocol", "alpha_s", "beta_Bps", "min_bytes", "max_bytes",
                      "points", "held_out", "held_out_large", "table", "table_held_out_large",
                      "monotonicity_adjustments", "use_table"});
  CollectiveFit c;
  c.op = in.string(v, p, "op");
  c.ranks = static_cast<int>(in.integer(v, p, "ranks"));
  if (c.ranks < 1) in.fail(JsonInput::join(p, "ranks"), "must be >= 1");
  c.algorithm = canonical_nccl_name(in.string(v, p, "algorithm"));
  c.protocol = canonical_nccl_name(in.string(v, p, "protocol"));
  c.alpha_s = in.number(v, p, "alpha_s");
  if (c.alpha_s < 0 || c.alpha_s > 1) in.fail(JsonInput::join(p, "alpha_s"), "must be between 0 and 1 s");
  c.beta_Bps = in.positive(v, p, "beta_Bps");
  if (c.beta_Bps < 1e6 || c.beta_Bps > 1e14)
    in.fail(JsonInput::join(p, "beta_Bps"), "must be between 1 MB/s and 100 TB/s: not a measured collective");
  c.min_bytes = in.number(v, p, "min_bytes");
  c.max_bytes = in.number(v, p, "max_bytes");
  if (c.min_bytes < 0 || c.max_bytes < c.min_bytes) in.fail(JsonInput::join(p, "max_bytes"), "must be >= min_bytes >= 0");
  c.points = static_cast<int>(in.integer(v, p, "points"));
  c.held_out = error_from_json(in, v, p, "held_out");
  c.held_out_large = error_from_json(in, v, p, "held_out_large");
  const json& table = in.array(v, p, "table");
  const std::string tp = JsonInput::join(p, "table");
  for (size_t i = 0; i < table.size(); ++i) {
    c.table.push_back(pair_from_json(in, table[i], JsonInput::index(tp, i)));
    if (!(c.table[i].first > 0 && c.table[i].second > 0)) in.fail(JsonInput::index(tp, i), "bytes and seconds must be > 0");
    if (i > 0 && !(c.table[i].first > c.table[i - 1].first))
      in.fail(JsonInput::index(tp, i), "bytes must be strictly increasing");
  }
  c.table_held_out_large = error_from_json(in, v, p, "table_held_out_large");
  c.monotonicity_adjustments = static_cast<int>(in.integer(v, p, "monotonicity_adjustments"));
  c.use_table = in.boolean(v, p, "use_table");
  if (c.use_table && c.table.size() < 2) in.fail(JsonInput::join(p, "use_table"), "needs a table of at least two sizes");
  return c;
}

// Tables store milliseconds at 4 significant digits: they are measurements of that precision, and
// a profile of hundreds of thousands of cells stays a few hundred kilobytes compressed.
}  // namespace

json kernel_table_to_json(const KernelTable& t) {
  json cells = json::array();
  for (double s : t.seconds) {
    if (std::isnan(s)) {
      cells.push_back(nullptr);
    } else {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4g", s * 1e3);
      cells.push_back(std::strtod(buf, nullptr));
    }
  }
  json j{{"op", t.op}, {"family", t.family}, {"dtype", t.dtype}, {"axes", t.axes}, {"values", t.values},
         {"latency_ms", cells}, {"kernels", t.kernels}, {"held_out", error_to_json(t.held_out)}};
  if (!t.kv_dtype.empty()) j["kv_dtype"] = t.kv_dtype;
  if (!t.keys.empty()) j["keys"] = t.keys;
  return j;
}

KernelTable kernel_table_from_json(const JsonInput& in, const json& v, const std::string& p) {
  in.expect_object(v, p);
  in.only_keys(v, p, {"op", "family", "dtype", "kv_dtype", "keys", "axes", "values", "latency_ms", "kernels", "held_out"});
  KernelTable t;
  t.op = in.string(v, p, "op");
  if (t.op != "gemm" && t.op != "attention" && t.op != "decode_attention" && t.op != "moe")
    in.fail(JsonInput::join(p, "op"), "expected gemm, attention, decode_attention or moe, got \"" + t.op + "\"");
  t.family = in.string(v, p, "family");
  t.dtype = canonical_dtype(in.string(v, p, "dtype"));
  if (v.contains("kv_dtype")) t.kv_dtype = canonical_dtype(in.string(v, p, "kv_dtype"));
  if (v.contains("keys")) {
    const json& keys = in.object(v, p, "keys");
    for (auto it = keys.begin(); it != keys.end(); ++it) {
      const long long k = in.integer(keys, JsonInput::join(p, "keys"), it.key());
      if (k < 1) in.fail(JsonInput::join(JsonInput::join(p, "keys"), it.key()), "must be >= 1");
      t.keys[it.key()] = k;
    }
  }
  const json& axes = in.array(v, p, "axes");
  const json& values = in.array(v, p, "values");
  if (axes.empty() || axes.size() != values.size())
    in.fail(JsonInput::join(p, "values"), "needs one list of values per axis");
  size_t cells = 1;
  for (size_t a = 0; a < axes.size(); ++a) {
    if (!axes[a].is_string()) in.fail(JsonInput::index(JsonInput::join(p, "axes"), a), "expected an axis name");
    t.axes.push_back(axes[a].get<std::string>());
    const std::string vp = JsonInput::index(JsonInput::join(p, "values"), a);
    if (!values[a].is_array() || values[a].empty()) in.fail(vp, "expected a non-empty list of axis values");
    std::vector<double> vals;
    for (size_t i = 0; i < values[a].size(); ++i) {
      const json& x = values[a][i];
      if (!x.is_number() || !(x.get<double>() > 0) || !std::isfinite(x.get<double>()))
        in.fail(JsonInput::index(vp, i), "axis values must be positive numbers");
      if (i > 0 && !(x.get<double>() > vals.back())) in.fail(JsonInput::index(vp, i), "axis values must increase");
      vals.push_back(x.get<double>());
    }
    cells *= vals.size();
    if (cells > (size_t{1} << 26)) in.fail(vp, "a table larger than 2^26 cells is not a kernel table");
    t.values.push_back(std::move(vals));
  }
  const json& lat = in.array(v, p, "latency_ms");
  if (lat.size() != cells)
    in.fail(JsonInput::join(p, "latency_ms"), "has " + std::to_string(lat.size()) + " cells; the axes make " +
                                                  std::to_string(cells));
  t.seconds.reserve(cells);
  for (size_t i = 0; i < cells; ++i) {
    if (lat[i].is_null()) {
      t.seconds.push_back(std::nan(""));
      continue;
    }
    if (!lat[i].is_number() || !(lat[i].get<double>() > 0) || !(lat[i].get<double>() <= 3.6e6))
      in.fail(JsonInput::index(JsonInput::join(p, "latency_ms"), i),
              "a latency must be a positive number of ms up to an hour, or null");
    t.seconds.push_back(lat[i].get<double>() * 1e-3);
  }
  if (v.contains("kernels"))
    for (const auto& k : in.array(v, p, "kernels"))
      if (k.is_string()) t.kernels.push_back(k.get<std::string>());
  if (v.contains("held_out")) t.held_out = error_from_json(in, v, p, "held_out");
  return t;
}

const KernelTable* Profile::find_table(const std::string& op, const std::string& dtype, const std::string& kv_dtype,
                                       const std::map<std::string, int64_t>& keys) const {
  const std::string d = canonical_dtype(dtype), kv = canonical_dtype(kv_dtype);
  const KernelTable* best = nullptr;
  double best_distance = 0;
  for (const auto& t : tables) {
    if (t.op != op || t.dtype != d || (!kv.empty() && !t.kv_dtype.empty() && t.kv_dtype != kv)) continue;
    double distance = 0;
    for (const auto& [k, want] : keys) {
      auto it = t.keys.find(k);
      if (it != t.keys.end()) distance += std::fabs(std::log(double(it->second) / double(want)));
    }
    if (!best || distance < best_distance) best = &t, best_distance = distance;
  }
  return best;
}

json profile_to_json(const Profile& p) {
  json compute = json::array(), coll = json::array(), held = json::object();
  for (const auto& f : p.compute) compute.push_back(compute_to_json(f));
  for (const auto& c : p.collectives) coll.push_back(collective_to_json(c));
  for (const auto& e : p.held_out) held[e.op] = error_to_json(e.error);
  json j{{"schema", kProfileSchema}, {"name", p.name}, {"provenance", p.provenance},
         {"fit", {{"folds", p.folds}, {"seed", p.seed}}}, {"held_out", held},
         {"compute", compute}, {"collectives", coll}, {"raw", p.raw}};
  if (!p.tables.empty()) {
    json tables = json::array();
    for (const auto& t : p.tables) tables.push_back(kernel_table_to_json(t));
    j["tables"] = tables;
  }
  return j;
}

Profile profile_from_json(const json& j, const std::string& file) {
  JsonInput in(file);
  in.expect_object(j, "<root>");
  in.check_schema(j, "foresight-profile", kProfileSchemaVersion);
  in.only_keys(j, "", {"schema", "name", "provenance", "fit", "held_out", "compute", "collectives", "raw", "tables"});
  Profile p;
  p.name = in.string(j, "", "name");
  if (p.name.empty()) in.fail("name", "must not be empty");
  p.provenance = in.object(j, "", "provenance");
  const json& fit = in.object(j, "", "fit");
  in.only_keys(fit, "fit", {"folds", "seed"});
  p.folds = static_cast<int>(in.integer(fit, "fit", "folds"));
  long long seed = in.integer(fit, "fit", "seed");
  if (seed < 0) in.fail("fit.seed", "must be >= 0");
  p.seed = static_cast<unsigned>(seed);
  const json& held = in.object(j, "", "held_out");
  for (auto it = held.begin(); it != held.end(); ++it)
    p.held_out.push_back({it.key(), error_from_json(in, held, "held_out", it.key())});
  const json& compute = in.array(j, "", "compute");
  for (size_t i = 0; i < compute.size(); ++i)
    p.compute.push_back(compute_from_json(in, compute[i], JsonInput::index("compute", i)));
  const json& coll = in.array(j, "", "collectives");
  for (size_t i = 0; i < coll.size(); ++i)
    p.collectives.push_back(collective_from_json(in, coll[i], JsonInput::index("collectives", i)));
  p.raw = in.array(j, "", "raw");
  if (j.contains("tables")) {
    const json& tables = in.array(j, "", "tables");
    for (size_t i = 0; i < tables.size(); ++i) p.tables.push_back(kernel_table_from_json(in, tables[i], JsonInput::index("tables", i)));
  }
  return p;
}

Profile load_profile(const std::string& path) {
  JsonInput in(path);
  return profile_from_json(in.parse_file(path), path);
}

void save_profile(const Profile& p, const std::string& path) {
  // Large (table) profiles are written compactly; `foresight-calibrate show` prints them readably.
  const std::string text = profile_to_json(p).dump(p.tables.empty() ? 1 : -1) + "\n";
  write_text_file(path, text);
}

}  // namespace foresight::hw
