#include "calibrate/fit/compute_fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "hwmodels/cost/kernel_work.hpp"

namespace foresight::calibrate {

namespace {

// Dense Gaussian elimination with partial pivoting; K is at most a few dozen.
std::vector<double> solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t piv = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::fabs(a[r][c]) > std::fabs(a[piv][c])) piv = r;
    if (std::fabs(a[piv][c]) < 1e-300) throw std::runtime_error("singular system in spline fit");
    std::swap(a[c], a[piv]);
    std::swap(b[c], b[piv]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= a[i][k] * x[k];
    x[i] = s / a[i][i];
  }
  return x;
}

}  // namespace

Curve fit_curve(const std::vector<double>& x, const std::vector<double>& y, int max_knots, double max_slope) {
  if (x.empty() || x.size() != y.size()) throw std::invalid_argument("fit_curve: need matching non-empty x and y");
  Curve c;
  const size_t n = x.size();
  std::vector<double> xs = x;
  std::sort(xs.begin(), xs.end());
  if (xs.back() - xs.front() < 1e-12) {
    double mean = 0;
    for (double v : y) mean += v / double(n);
    c.knots = {{xs.front(), mean}};
    return c;
  }
  const int want = std::clamp(static_cast<int>(n / 2), 2, std::max(2, max_knots));
  std::vector<double> kx;
  for (int j = 0; j < want; ++j) {
    const double q = xs[static_cast<size_t>(std::lround(double(j) * double(n - 1) / double(want - 1)))];
    if (kx.empty() || q > kx.back() + 1e-9) kx.push_back(q);
  }
  if (kx.size() < 2) kx = {xs.front(), xs.back()};
  const size_t K = kx.size();

  std::vector<std::vector<double>> ata(K, std::vector<double>(K, 0.0));
  std::vector<double> aty(K, 0.0);
  for (size_t i = 0; i < n; ++i) {
    auto hi = std::upper_bound(kx.begin(), kx.end(), x[i]);
    size_t j1 = std::min<size_t>(std::max<size_t>(size_t(hi - kx.begin()), 1), K - 1), j0 = j1 - 1;
    const double f = std::clamp((x[i] - kx[j0]) / (kx[j1] - kx[j0]), 0.0, 1.0);
    const double w0 = 1 - f, w1 = f;
    ata[j0][j0] += w0 * w0;
    ata[j0][j1] += w0 * w1;
    ata[j1][j0] += w0 * w1;
    ata[j1][j1] += w1 * w1;
    aty[j0] += w0 * y[i];
    aty[j1] += w1 * y[i];
  }
  // The penalty is tiny next to the data term: it only decides knots the data leave free.
  double trace = 0;
  for (size_t j = 0; j < K; ++j) trace += ata[j][j];
  const double lambda = 1e-4 * trace / double(K);
  for (size_t j = 1; j + 1 < K; ++j) {
    const double d[3] = {1, -2, 1};
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) ata[j - 1 + a][j - 1 + b] += lambda * d[a] * d[b];
  }
  if (K == 2) {  // no second differences: keep the system regular with a ridge on the slope
    ata[0][0] += lambda; ata[1][1] += lambda; ata[0][1] -= lambda; ata[1][0] -= lambda;
  }
  const std::vector<double> ky = solve(ata, aty);
  for (size_t j = 0; j < K; ++j) c.knots.push_back({kx[j], ky[j]});
  for (size_t j = 1; j < K; ++j) {
    const double cap = c.knots[j - 1].second + max_slope * (c.knots[j].first - c.knots[j - 1].first);
    if (c.knots[j].second > cap + 1e-12) {
      c.knots[j].second = cap;
      ++c.monotonicity_adjustments;
    }
  }
  return c;
}

namespace {

struct Attempt {
  hw::ComputeFit fit;
  double rms = std::numeric_limits<double>::infinity();
};

Attempt fit_with_tile(const std::vector<const RawMeasurement*>& pts, const ComputeGroupOptions& opt, int tile) {
  Attempt a;
  hw::ComputeFit& f = a.fit;
  const RawMeasurement& first = *pts.front();
  f.op = first.op;
  f.backend = first.backend;
  f.dtype = first.dtype;
  f.direction = first.direction;
  f.points = static_cast<int>(pts.size());
  const bool memory_bound = first.cls == OpClass::memory || first.cls == OpClass::decode_attention;
  f.tile = memory_bound ? 0 : tile;
  f.sm_count = f.tile > 0 ? opt.sm_count : 0;
  // Peaks are the best throughput this kernel family reached, so efficiencies sit near or below 1
  // and the roofline reflects this GPU's clocks and this library, not the datasheet.
  for (const RawMeasurement* p : pts) {
    if (memory_bound) {
      f.peak_bandwidth = std::max(f.peak_bandwidth, p->work.bytes / p->time_s);
    } else {
      f.peak_flops = std::max(f.peak_flops, hw::padded_flops(p->work, f.tile, f.sm_count) / p->time_s);
    }
  }
  if (!memory_bound) f.peak_bandwidth = opt.memory_bandwidth;

  std::vector<double> x, y;
  f.intensity_checked = !memory_bound;
  f.min_log_r = f.min_log_intensity = std::numeric_limits<double>::infinity();
  f.max_log_r = f.max_log_intensity = -std::numeric_limits<double>::infinity();
  for (const RawMeasurement* p : pts) {
    const double r = hw::roofline_seconds(p->work, f.peak_flops, f.peak_bandwidth, f.tile, f.sm_count);
    x.push_back(std::log(r));
    y.push_back(std::log(r / p->time_s));
    f.min_log_r = std::min(f.min_log_r, x.back());
    f.max_log_r = std::max(f.max_log_r, x.back());
    if (f.intensity_checked && p->work.flops > 0 && p->work.bytes > 0) {
      const double ai = std::log(p->work.flops / p->work.bytes);
      f.min_log_intensity = std::min(f.min_log_intensity, ai);
      f.max_log_intensity = std::max(f.max_log_intensity, ai);
    } else {
      f.intensity_checked = false;
    }
  }
  if (!f.intensity_checked) f.min_log_intensity = f.max_log_intensity = 0;
  // Slope <= 1 of log efficiency against log roofline time is exactly "predicted time never
  // decreases as the roofline time grows".
  Curve c = fit_curve(x, y, opt.max_knots, 1.0);
  f.knots = c.knots;
  f.monotonicity_adjustments = c.monotonicity_adjustments;
  double ss = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = y[i] - hw::interpolate(f.knots, x[i]);
    ss += e * e;
  }
  a.rms = std::sqrt(ss / double(x.size()));
  return a;
}

}  // namespace

hw::ComputeFit fit_compute_group(const std::vector<const RawMeasurement*>& points, const ComputeGroupOptions& opt) {
  if (points.empty()) throw std::invalid_argument("fit_compute_group: no points");
  std::vector<int> tiles = opt.sm_count > 0 ? opt.tiles : std::vector<int>{0};
  if (tiles.empty()) tiles = {0};
  Attempt best;
  for (int tile : tiles) {
    Attempt a = fit_with_tile(points, opt, tile);
    // Prefer the simpler model (earlier in the list) unless a tile clearly explains more (1 %).
    if (a.rms < best.rms * 0.99 || !std::isfinite(best.rms)) best = std::move(a);
  }
  return best.fit;
}

}  // namespace foresight::calibrate
