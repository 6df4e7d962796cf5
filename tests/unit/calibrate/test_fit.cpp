#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>

#include "calibrate/fit/alpha_beta.hpp"
#include "calibrate/fit/compute_fit.hpp"
#include "calibrate/fit/fitter.hpp"
#include "calibrate/fit/kfold.hpp"
#include "calibrate/harness/harness.hpp"
#include "hwmodels/cost/calibrated_collectives.hpp"
#include "hwmodels/cost/calibrated_cost_model.hpp"
#include "synthetic.hpp"

using namespace foresight;
using namespace foresight::calibrate;

TEST_CASE("fold assignment is balanced, deterministic and seed-dependent", "[calibrate][kfold]") {
  const auto a = fold_assignment(23, 5, 7);
  const auto b = fold_assignment(23, 5, 7);
  const auto c = fold_assignment(23, 5, 8);
  CHECK(a == b);
  CHECK(a != c);
  std::vector<int> sizes(5, 0);
  for (int f : a) ++sizes[f];
  for (int s : sizes) CHECK((s == 4 || s == 5));
}

TEST_CASE("k-fold never trains on a held-out point and holds each point out once", "[calibrate][kfold]") {
  const std::vector<double> y = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  std::vector<int> held(y.size(), 0);
  kfold_error(y, 3, 42, [&](const std::vector<size_t>& train, const std::vector<size_t>& test) {
    std::set<size_t> tr(train.begin(), train.end());
    for (size_t i : test) {
      CHECK(tr.count(i) == 0);
      ++held[i];
    }
    CHECK(train.size() + test.size() == y.size());
    return std::vector<HeldOutPrediction>(test.size(), {1.0, false});
  });
  for (int h : held) CHECK(h == 1);
  // With groups, repeated measurements of one shape are never split between train and test.
  const std::vector<size_t> groups = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
  kfold_error(y, 3, 42, [&](const std::vector<size_t>& train, const std::vector<size_t>& test) {
    for (size_t i : test)
      for (size_t j : train) CHECK(groups[i] != groups[j]);
    return std::vector<HeldOutPrediction>(test.size(), {1.0, false});
  }, {}, 2, groups);
}

TEST_CASE("held-out MAPE of a hand-checkable mean predictor", "[calibrate][kfold]") {
  // Leave-one-out on {1,2,3,6} with "predict the mean of the training set":
  // 11/3 vs 1 -> 8/3; 10/3 vs 2 -> 2/3; 3 vs 3 -> 0; 2 vs 6 -> 2/3. Mean = (8/3+2/3+0+2/3)/4 = 1.
  const std::vector<double> y = {1, 2, 3, 6};
  const auto mean_of_train = [&](const std::vector<size_t>& train, const std::vector<size_t>& test) {
    double s = 0;
    for (size_t i : train) s += y[i];
    return std::vector<HeldOutPrediction>(test.size(), {s / double(train.size()), false});
  };
  const hw::HeldOutError e = kfold_error(y, 4, 1, mean_of_train);
  CHECK(e.points == 4);
  CHECK(e.folds == 4);
  CHECK(e.mape == Approx(1.0).epsilon(1e-12));
  CHECK(e.max_ape == Approx(8.0 / 3.0).epsilon(1e-12));
  // Restricting the error to y >= 3 still fits on all points: (0 + 2/3) / 2.
  const hw::HeldOutError big = kfold_error(y, 4, 1, mean_of_train, {false, false, true, true});
  CHECK(big.points == 2);
  CHECK(big.mape == Approx(1.0 / 3.0).epsilon(1e-12));
  // Too few points to hold any out: no error is claimed rather than a fake 0 %.
  CHECK_FALSE(kfold_error({1.0, 2.0}, 5, 1, mean_of_train).available());
}

TEST_CASE("alpha-beta fit recovers exact and noisy parameters", "[calibrate][alpha_beta]") {
  std::vector<SizedTime> exact, noisy;
  boost::random::mt19937 rng(123);
  boost::random::normal_distribution<double> noise(0.0, 0.01);
  for (double b = 1024; b <= 4.0 * (1 << 30); b *= 2) {
    const double t = 8e-6 + b / 150e9;
    exact.push_back({b, t});
    noisy.push_back({b, t * std::exp(noise(rng))});
  }
  const AlphaBeta e = fit_alpha_beta(exact);
  CHECK(e.alpha_s == Approx(8e-6).epsilon(1e-9));
  CHECK(e.beta_Bps == Approx(150e9).epsilon(1e-9));
  // 1 % timing noise over 23 sizes: alpha is pinned by the ~8 latency-bound sizes and beta by the ~8
  // bandwidth-bound ones, each with standard error ~1%/sqrt(8) ~ 0.35 %; 2 % is about 5 sigma.
  const AlphaBeta n = fit_alpha_beta(noisy);
  CHECK(n.alpha_s == Approx(8e-6).epsilon(0.02));
  CHECK(n.beta_Bps == Approx(150e9).epsilon(0.02));
  // Constraints: data with no latency term must not produce a negative alpha.
  const AlphaBeta z = fit_alpha_beta({{1e6, 1e-5}, {2e6, 2e-5}, {4e6, 3.9e-5}});
  CHECK(z.alpha_s >= 0);
  CHECK(z.beta_Bps > 0);
  const hw::CollectiveFit c = fit_collective("all_reduce", 8, "ring", "simple", noisy, 5, 3);
  CHECK(c.held_out.available());
  // Held-out error of a correct model is the noise level: mean |N(0, 1 %)| = 0.8 %.
  CHECK(c.held_out.mape < 0.015);
  CHECK(c.min_bytes == 1024);
  CHECK(c.max_bytes == 4.0 * (1 << 30));
}

TEST_CASE("spline fit reproduces a piecewise-linear curve and caps steep segments", "[calibrate][monotonic]") {
  std::vector<double> x, y;
  for (int i = 0; i <= 40; ++i) {
    x.push_back(i * 0.25);
    y.push_back(x.back() < 5 ? -2 + 0.3 * x.back() : -0.5);  // rising then flat, slope < 1
  }
  const Curve c = fit_curve(x, y, 12, 1.0);
  CHECK(c.monotonicity_adjustments == 0);
  // The kink at x = 5 falls between quantile knots ~0.9 apart; the best linear spline then misses it
  // by up to slope change (0.3) x spacing / 4 ~ 0.07, and everywhere else reproduces the line.
  for (size_t i = 0; i < x.size(); ++i) CHECK(hw::interpolate(c.knots, x[i]) == Approx(y[i]).margin(0.08));
  // Efficiency rising faster than work (slope 3) would predict bigger kernels to be faster.
  std::vector<double> ys;
  for (double v : x) ys.push_back(-8 + 3 * v);
  const Curve s = fit_curve(x, ys, 6, 1.0);
  CHECK(s.monotonicity_adjustments > 0);
  for (size_t j = 1; j < s.knots.size(); ++j)
    CHECK((s.knots[j].second - s.knots[j - 1].second) <= (s.knots[j].first - s.knots[j - 1].first) + 1e-9);
}

namespace {

struct FittedSynthetic {
  test::SyntheticGpu gpu;
  hw::Profile profile;
  FittedSynthetic() {
    FitOptions opt;
    opt.name = "synthetic";
    profile = fit_profile(raw_from_json(test::synthetic_raw(gpu, 2026), "synthetic.json"), opt);
  }
};

const FittedSynthetic& fitted() {
  static const FittedSynthetic f;
  return f;
}

}  // namespace

TEST_CASE("fit over a synthetic roofline-with-efficiency GPU generalizes to held-out points", "[calibrate][fit]") {
  const hw::Profile& p = fitted().profile;
  REQUIRE(p.compute.size() == 3);  // attention, copy, gemm
  const hw::ComputeFit* gemm = p.find_compute("gemm", "bf16");
  REQUIRE(gemm);
  // The synthetic GPU quantizes waves at 128x128 tiles; the fitter must find that from data alone.
  CHECK(gemm->tile == 128);
  CHECK(gemm->sm_count == 132);
  // Measured peak of the best shape is below the true 800 TFLOP/s (efficiency < 0.97 everywhere).
  CHECK(gemm->peak_flops < 800e12 * 1.03);
  CHECK(gemm->peak_flops > 800e12 * 0.8);
  // The memory term uses the measured copy bandwidth (true 0.9 x 3 TB/s at the largest sizes).
  CHECK(gemm->peak_bandwidth == Approx(0.9 * 3.0e12).epsilon(0.05));
  // With 1.5 % timing noise the floor of MAPE is mean|N(0,1.5%)| = 1.2 %; the goal is 5 %.
  // Counted over every held-out point, including the few that fall outside their fold's training
  // range (a fold's smallest or largest kernel), for the densely swept GEMM and attention.
  for (const auto& f : p.compute) {
    INFO(f.op << " MAPE " << f.held_out.mape << " max " << f.held_out.max_ape << " inside "
              << f.held_out.inside_mape << " (" << f.held_out.inside_points << "/" << f.held_out.points << ")");
    CHECK(f.held_out.available());
    CHECK(f.held_out.inside_mape < 0.05);
    if (f.op != "copy") CHECK(f.held_out.mape < 0.05);
  }
  // Copy has 13 sizes over 12 octaves; a fold that holds out both of the two smallest must
  // extrapolate two octaves down from a fixed-cost-dominated edge, so only the inside error meets
  // the goal, and the extrapolated points are counted.
  const hw::ComputeFit* copy = p.find_compute("copy", "bf16");
  REQUIRE(copy);
  CHECK(copy->held_out.extrapolated > 0);
  // The hot-cache copy is kept as a raw point but not fitted.
  CHECK(p.raw.size() == 160 + 40 + 13 + 1 + 11);
  CHECK(p.provenance["sweep"]["cache_hot_points_not_fitted"] == 1);
  CHECK(p.provenance["sweep"]["repeats"] == 20);  // the harness's sweep settings survive the fit
  CHECK(p.provenance["gpu_name"] == "Synthetic H100");
}

TEST_CASE("calibrated GEMM estimates match the true machine inside the measured region", "[calibrate][fit]") {
  const auto& f = fitted();
  hw::CalibratedCostModel model(f.profile, 989e12, 3.35e12);
  double worst = 0;
  for (int64_t m : {384, 1000, 3072, 6000})
    for (int64_t n : {512, 2500, 8192})
      for (int64_t k : {700, 4096, 12000}) {
        const hw::Estimate e = model.gemm({m, n, k, 1, "bf16"});
        CHECK(e.source == "profile:synthetic");
        CHECK_FALSE(e.extrapolated);
        worst = std::max(worst, std::fabs(e.seconds / f.gpu.gemm_time(m, n, k) - 1));
      }
  // Noise-free truth at unseen shapes: worst error stays within the 5 % goal plus noise headroom.
  INFO("worst relative error " << worst);
  CHECK(worst < 0.08);
}

TEST_CASE("more work is never predicted faster inside the calibrated region", "[calibrate][monotonic]") {
  const auto& f = fitted();
  hw::CalibratedCostModel model(f.profile, 989e12, 3.35e12);
  for (int64_t n : {512, 4096})
    for (int64_t k : {1024, 8192}) {
      double prev = 0;
      for (int64_t m = 256; m <= 16384; m += 64) {
        const double t = model.gemm({m, n, k, 1, "bf16"}).seconds;
        CHECK(t >= prev * (1 - 1e-12));
        prev = t;
      }
    }
  // Any shape that is at least as large in every dimension takes at least as long.
  boost::random::mt19937 rng(99);
  boost::random::uniform_int_distribution<int64_t> dim(4, 256);
  for (int i = 0; i < 2000; ++i) {
    const int64_t m = 64 * dim(rng), n = 64 * dim(rng), k = 64 * dim(rng);
    const int64_t m2 = m + 64 * dim(rng) / 8, n2 = n + 64 * dim(rng) / 8, k2 = k + 64 * dim(rng) / 8;
    const double a = model.gemm({m, n, k, 1, "bf16"}).seconds, b = model.gemm({m2, n2, k2, 1, "bf16"}).seconds;
    INFO(m << "x" << n << "x" << k << " vs " << m2 << "x" << n2 << "x" << k2);
    CHECK(b >= a * (1 - 1e-12));
  }
  double prev = 0;
  for (int64_t s = 256; s <= 16384; s += 128) {
    const double t = model.attention({4, s, s, 16, 16, 128, false, false, "bf16"}).seconds;
    CHECK(t >= prev * (1 - 1e-12));
    prev = t;
  }
  for (const auto& c : f.profile.compute) {
    for (size_t j = 1; j < c.knots.size(); ++j)
      CHECK((c.knots[j].second - c.knots[j - 1].second) <= (c.knots[j].first - c.knots[j - 1].first) + 1e-9);
  }
}

TEST_CASE("queries outside the calibrated range are flagged, never silently extrapolated", "[calibrate][extrapolation]") {
  const auto& f = fitted();
  hw::CalibratedCostModel model(f.profile, 989e12, 3.35e12);
  CHECK_FALSE(model.gemm({4096, 4096, 4096, 1, "bf16"}).extrapolated);
  CHECK(model.gemm({65536, 65536, 65536, 1, "bf16"}).extrapolated);   // beyond the largest work
  CHECK(model.gemm({64, 64, 64, 1, "bf16"}).extrapolated);            // below the smallest
  CHECK(model.gemm({1, 8192, 8192, 1, "bf16"}).extrapolated);         // GEMV: intensity never measured
  const hw::Estimate fp4 = model.gemm({4096, 4096, 4096, 1, "fp4"});  // dtype never measured
  CHECK(fp4.extrapolated);
  CHECK(fp4.seconds > 0);
  CHECK(model.attention({2, 2048, 2048, 16, 16, 128, false, false, "bf16"}).extrapolated == false);
  CHECK(model.attention({2, 2048, 2048, 16, 16, 128, false, true, "bf16"}).extrapolated);  // backward not measured
  CHECK(model.attention({64, 1, 4096, 64, 8, 128, false, false, "bf16"}).extrapolated);    // no decode fit
  CHECK_FALSE(model.memory_op({"copy", 256e6, 0}).extrapolated);
  CHECK(model.memory_op({"copy", 64e9, 0}).extrapolated);
  const hw::Estimate opt = model.memory_op({"optimizer", 1e9, 0});  // stands in with the copy curve
  CHECK(opt.extrapolated);
  CHECK(opt.seconds == Approx(model.memory_op({"copy", 1e9, 0}).seconds));
}

TEST_CASE("collective accessors expose calibrated alpha-beta", "[calibrate][alpha_beta]") {
  const auto& f = fitted();
  hw::CalibratedCollectives model(f.profile);
  const auto ab = model.fit("all_reduce", 8);
  REQUIRE(ab);
  // Synthetic truth 10 us + bytes / 200 GB/s with 1.5 % noise on 11 sizes: 5 % covers ~4 sigma.
  CHECK(ab->alpha_s == Approx(10e-6).epsilon(0.05));
  CHECK(ab->beta_Bps == Approx(200e9).epsilon(0.05));
  CHECK(ab->min_bytes == 1024);
  CHECK_FALSE(model.fit("all_reduce", 16));
  CHECK_FALSE(model.fit("all_reduce", 8, "ring", "ll"));
  CHECK(model.fit("all_reduce", 8, "AUTO", "Auto"));  // NCCL's capitalisation is accepted
  const auto inside = model.time("all_reduce", 8, 3e6);
  REQUIRE(inside);
  CHECK_FALSE(inside->extrapolated);
  CHECK(inside->seconds == Approx(10e-6 + 3e6 / 200e9).epsilon(0.05));
  CHECK(model.time("all_reduce", 8, 64e9)->extrapolated);
}

TEST_CASE("profile work features use the shared FLOP conventions", "[calibrate][fit]") {
  // The fitter and the calibrated model count work with kernel_work.hpp; planners use cost_model.hpp.
  // If the two drifted, every calibrated estimate would be off by the ratio.
  const hw::GemmQuery g{1000, 3000, 7000, 3, "bf16"};
  CHECK(hw::gemm_work(g.m, g.n, g.k, g.batch, g.dtype).flops == hw::gemm_flops(g));
  for (bool causal : {false, true})
    for (bool backward : {false, true}) {
      const hw::AttentionQuery a{2, 4096, 8192, 32, 8, 128, causal, backward, "bf16"};
      CHECK(hw::attention_work(a.batch, a.seq_q, a.seq_kv, a.heads, a.kv_heads, a.head_dim, a.causal, a.backward,
                               a.dtype).flops == Approx(hw::attention_flops(a)).epsilon(1e-15));
    }
}

TEST_CASE("spread_order: every prefix of a cut-short sweep samples the whole case list", "[calibrate][harness]") {
  for (std::size_t n : {3u, 10u, 100u, 127u, 712u, 1024u, 1100u}) {
    for (std::size_t first : {std::size_t{0}, std::size_t{2}}) {
      std::vector<std::size_t> v(n + first);
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = i;
      foresight::calibrate::spread_order(v, first);
      for (std::size_t i = 0; i < first; ++i) CHECK(v[i] == i);  // the pinned head stays
      std::set<std::size_t> seen(v.begin(), v.end());
      CHECK(seen.size() == v.size());  // a permutation: nothing lost, nothing twice
      if (n < 100) continue;
      // The first fifth of the reordered tail has members in every tenth of the original order
      // (a run cut at 20 % of its cases still spans every model and grid line).
      std::set<std::size_t> deciles;
      for (std::size_t i = first; i < first + n / 5; ++i) deciles.insert((v[i] - first) * 10 / n);
      CHECK(deciles.size() == 10);
    }
  }
}

TEST_CASE("decode attention is kept as a measured grid: a parallelism-bound kernel is followed where one curve cannot",
          "[calibrate][fit][decode]") {
  // Synthetic kernel like ours: one block per (sequence, head) on 132 SMs, each block streaming its
  // context at a fixed rate, so time = waves(batch * heads / 132) * context * 1 ns + 5 us. Bytes
  // grow with batch, time does not until the SMs are full: no efficiency curve of bytes fits it.
  nlohmann::json raw = {{"schema", "foresight-raw/1"}, {"provenance", {{"sm_count", 132}}}};
  nlohmann::json ms = nlohmann::json::array();
  const std::vector<int> batches = {1, 2, 4, 8, 16, 32, 64, 128}, contexts = {256, 512, 1024, 2048, 4096, 8192};
  auto law = [](int batch, int ctx) { return std::ceil(batch * 32 / 132.0) * ctx * 1e-9 + 5e-6; };
  for (int b : batches)
    for (int c : contexts)
      ms.push_back({{"op", "decode_attention"}, {"backend", "foresight-paged"}, {"dtype", "bf16"}, {"cache", "cold"},
                    {"shape", {{"batch", b}, {"context_len", c}, {"heads", 32}, {"kv_heads", 32}, {"head_dim", 128}}},
                    {"time_s", law(b, c)}});
  raw["measurements"] = ms;
  const calibrate::RawFile rf = calibrate::raw_from_json(raw, "synthetic-decode");
  calibrate::FitOptions opt;
  opt.name = "decode";
  const hw::Profile p = calibrate::fit_profile(rf, opt);
  REQUIRE(p.tables.size() == 1);
  const hw::KernelTable& t = p.tables.front();
  CHECK(t.op == "decode_attention");
  CHECK(t.axes == std::vector<std::string>{"batch", "context"});
  CHECK(t.values[0].size() == batches.size());
  CHECK(t.values[1].size() == contexts.size());
  // Interior cells predicted from half the grid: the law is linear in context and a staircase in
  // batch (waves), which log-multilinear interpolation follows to about 10 % (9.7 % when written);
  // 15 % fails if the table stops interpolating or falls back to a bytes curve (the 120 % kind).
  CHECK(t.held_out.points > 0);
  CHECK(t.held_out.mape < 0.15);
  // The cost model answers from the table: exact at measured cells, not flagged.
  hw::CalibratedCostModel model(p, 989e12, 4.8e12);
  const std::vector<int64_t> ctx(16, 2048);
  hw::DecodeAttentionQuery q;
  q.heads = q.kv_heads = 32;
  q.head_dim = 128;
  q.context = ctx.data();
  q.sequences = ctx.size();
  const hw::Estimate e = model.decode_attention(q);
  CHECK(e.seconds == Approx(law(16, 2048)).epsilon(1e-9));
  CHECK_FALSE(e.extrapolated);
  // The per-op summary is the table's error, not the curve's.
  for (const auto& h : p.held_out)
    if (h.op == "decode_attention") CHECK(h.error.mape == Approx(t.held_out.mape));
}
