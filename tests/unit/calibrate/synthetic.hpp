#pragma once
// Synthetic "GPU" for fitter tests: a known roofline-with-efficiency-curve machine, timed with seeded
// log-normal noise, written in the harness's raw schema. The ground truth deliberately differs from
// the fitter's model family (launch latency is additive here and the efficiency is a function of FLOPs
// rather than of roofline time, so memory-bound shapes sit off the fitted curve), so a passing fit
// shows generalization, not an identity. A partial wave costs as much as a full one, as on real GPUs.
#include <cmath>
#include <string>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <nlohmann/json.hpp>

#include "hwmodels/cost/kernel_work.hpp"

namespace foresight::test {

struct SyntheticGpu {
  int sms = 132;
  int tile = 128;
  double peak = 800e12;         // FLOP/s a perfectly fed bf16 GEMM reaches
  double hbm = 3.0e12;          // bytes/s
  double launch = 4e-6;         // s, per kernel
  double half_flops = 4e9;      // FLOPs at which the mainloop reaches half of its asymptotic efficiency
  double noise = 0.015;         // log-normal sigma of one timing (median of repeats on a real GPU)

  double efficiency(double flops) const { return 0.92 * flops / (flops + half_flops) + 0.05; }

  double gemm_time(int64_t m, int64_t n, int64_t k, int64_t batch = 1) const {
    const hw::KernelWork w = hw::gemm_work(m, n, k, batch, "bf16");
    const double compute = hw::padded_flops(w, tile, sms) / peak;
    return launch + std::max(compute, w.bytes / hbm) / efficiency(hw::padded_flops(w, tile, sms));
  }

  double attention_time(const hw::KernelWork& w) const {
    const double compute = hw::padded_flops(w, tile, sms) / (0.75 * peak);
    return 6e-6 + std::max(compute, w.bytes / hbm) / efficiency(hw::padded_flops(w, tile, sms) / 4);
  }

  double copy_time(double bytes) const { return 3e-6 + bytes / (0.9 * hbm); }
};

inline nlohmann::json synthetic_raw(const SyntheticGpu& gpu, unsigned seed, int gemm_points = 160) {
  using nlohmann::json;
  boost::random::mt19937 rng(seed);
  boost::random::normal_distribution<double> noise(0.0, gpu.noise);
  boost::random::uniform_real_distribution<double> u(std::log(256.0), std::log(16384.0));
  auto noisy = [&](double t) { return t * std::exp(noise(rng)); };
  json ms = json::array();
  for (int i = 0; i < gemm_points; ++i) {
    // Multiples of 64 as model dimensions are, spread log-uniformly so every decade has data.
    auto dim = [&] { return std::max<int64_t>(64, 64 * std::llround(std::exp(u(rng)) / 64)); };
    const int64_t m = dim(), n = dim(), k = dim();
    const hw::KernelWork w = hw::gemm_work(m, n, k, 1, "bf16");
    ms.push_back({{"op", "gemm"}, {"backend", "cublaslt"}, {"dtype", "bf16"},
                  {"shape", {{"m", m}, {"n", n}, {"k", k}, {"batch", 1}, {"layout", "NT"}}},
                  {"time_s", noisy(gpu.gemm_time(m, n, k))}, {"flops", w.flops}, {"bytes", w.bytes}, {"cache", "cold"}});
  }
  for (int64_t b : {1, 2, 4, 8})
    for (int64_t s : {512, 1024, 2048, 4096, 8192})
      for (int64_t d : {64, 128}) {
        const int64_t h = 2048 / d;
        const hw::KernelWork w = hw::attention_work(b, s, s, h, h, d, false, false, "bf16");
        ms.push_back({{"op", "attention"}, {"backend", "foresight-fa2"}, {"direction", "forward"}, {"dtype", "bf16"},
                      {"shape", {{"batch", b}, {"seq_q", s}, {"seq_kv", s}, {"heads", h}, {"kv_heads", h},
                                 {"head_dim", d}, {"causal", false}}},
                      {"time_s", noisy(gpu.attention_time(w))}, {"flops", w.flops}});
      }
  for (double bytes = 1 << 20; bytes <= 4.0 * (1 << 30); bytes *= 2) {
    ms.push_back({{"op", "copy"}, {"backend", "foresight"}, {"dtype", "bf16"},
                  {"shape", {{"rows", 1}, {"cols", bytes / 4}}}, {"time_s", noisy(gpu.copy_time(bytes))},
                  {"bytes", bytes}, {"cache", "cold"}});
  }
  // One cache-hot copy, which the fitter must keep in the raw points but leave out of the curve.
  ms.push_back({{"op", "copy"}, {"backend", "foresight"}, {"dtype", "bf16"}, {"shape", {{"rows", 1}, {"cols", 1024}}},
                {"time_s", 1e-6}, {"bytes", 8192.0}, {"cache", "hot"}});
  for (double bytes = 1024; bytes <= 1024.0 * 1024 * 1024; bytes *= 4) {
    ms.push_back({{"op", "all_reduce"}, {"backend", "nccl"}, {"dtype", "bf16"},
                  {"shape", {{"bytes", bytes}, {"ranks", 8}}}, {"algorithm", "auto"}, {"protocol", "auto"},
                  {"time_s", noisy(10e-6 + bytes / 200e9)}});
  }
  return {{"schema", "foresight-raw/1"},
          {"provenance", {{"gpu_name", "Synthetic H100"}, {"sm_count", gpu.sms},
                          {"clocks", {{"sm_mhz", 1980}, {"mem_mhz", 2619}, {"max_sm_mhz", 1980}}},
                          {"driver", "test"}, {"cuda_runtime", "13.0"}, {"nccl", "2.21.5"},
                          {"date", "2026-01-01T00:00:00Z"}, {"host", "synthetic"}, {"gpu_count", 8},
                          {"sweep", {{"quick", false}, {"repeats", 20}}}}},
          {"measurements", ms}};
}

}  // namespace foresight::test
