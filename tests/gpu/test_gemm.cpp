// cuBLASLt GEMM wrapper against a float64 reference, for every dtype and layout it exposes.
#include "kernels/gemm.hpp"

#include "test_support.hpp"

using namespace foresight;
using foresight::gputest::DeviceArray;
using kernels::DType;
using kernels::GemmLayout;

namespace {

// Element (row, col) of the row-major product operand as stored for the given layout.
double a_at(const std::vector<double>& a, GemmLayout l, int64_t m, int64_t k, int64_t i, int64_t p) {
  return l == GemmLayout::TN ? a[p * m + i] : a[i * k + p];
}
double b_at(const std::vector<double>& b, GemmLayout l, int64_t n, int64_t k, int64_t p, int64_t j) {
  return l == GemmLayout::NT ? b[j * k + p] : b[p * n + j];
}

void check_gemm(kernels::LtGemm& gemm, const kernels::GemmShape& s, double a_scale = 1, double b_scale = 1) {
  const int64_t m = s.m, n = s.n, k = s.k, bt = s.batch;
  const DType out_t = kernels::gemm_output_dtype(s.dtype);
  const DType store_t = s.dtype == DType::tf32 ? DType::f32 : s.dtype;
  const auto a = gputest::random_values(static_cast<std::size_t>(m * k * bt), store_t, 100 + m);
  const auto b = gputest::random_values(static_cast<std::size_t>(k * n * bt), store_t, 200 + n);
  DeviceArray da(a.size(), store_t), db(b.size(), store_t), dc(static_cast<std::size_t>(m * n * bt), out_t);
  DeviceArray scales(8, DType::f32);  // the two scales 16 bytes apart (see sweep_gemm.cpp)
  da.upload(a);
  db.upload(b);
  scales.upload({a_scale, 0, 0, 0, b_scale, 0, 0, 0});
  dc.poison();
  gemm.run(s, da.get(), db.get(), dc.get(), nullptr, scales.as<float>(), scales.as<float>() + 4);
  FS_CUDA(cudaDeviceSynchronize());
  const auto got = dc.download();

  std::vector<double> ref(got.size()), abs_sum(got.size());
  for (int64_t q = 0; q < bt; ++q) {
    const std::vector<double> aq(a.begin() + q * m * k, a.begin() + (q + 1) * m * k);
    const std::vector<double> bq(b.begin() + q * k * n, b.begin() + (q + 1) * k * n);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0, sum = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double t = a_at(aq, s.layout, m, k, i, p) * b_at(bq, s.layout, n, k, p, j);
          acc += t;
          sum += std::fabs(t);
        }
        ref[q * m * n + i * n + j] = acc * a_scale * b_scale;
        abs_sum[q * m * n + i * n + j] = sum * a_scale * b_scale;
      }
  }
  // Inputs are exact in their storage type, so the error is one rounding of the output (rtol =
  // unit roundoff of the output type) plus accumulation error relative to sum|a*b|: fp32
  // accumulation gives ~k * 2^-24 in the worst case (we allow 1e-5, k <= 300 here); tf32 keeps 10
  // mantissa bits of each input and may truncate rather than round (2 * 2^-10 per product); Hopper's fp8
  // tensor cores accumulate with fewer than 32 bits between promotions, so allow 1e-3.
  double acc_tol = 1e-5;
  if (s.dtype == DType::tf32) acc_tol = 2.0 * std::ldexp(1.0, -10) + 1e-5;
  if (s.dtype == DType::e4m3) acc_tol = 1e-3;
  const double rtol = gputest::unit_roundoff(out_t);
  gputest::check_close(std::string("gemm ") + kernels::dtype_name(s.dtype) + " " + kernels::gemm_layout_name(s.layout) +
                           " " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) + " batch " +
                           std::to_string(bt),
                       got, ref, rtol, [&](std::size_t i) { return acc_tol * abs_sum[i]; });
}

}  // namespace

TEST_CASE("cuBLASLt GEMM matches float64 for bf16/fp16/tf32 in every layout", "[gpu][gemm]") {
  kernels::LtGemm gemm;
  for (DType dt : {DType::bf16, DType::f16, DType::tf32})
    for (GemmLayout l : {GemmLayout::NN, GemmLayout::NT, GemmLayout::TN}) {
      // Odd sizes exercise the edges of every tile.
      check_gemm(gemm, {67, 45, 129, 1, l, dt});
      check_gemm(gemm, {128, 256, 64, 1, l, dt});
    }
}

TEST_CASE("cuBLASLt strided-batched GEMM", "[gpu][gemm]") {
  kernels::LtGemm gemm;
  check_gemm(gemm, {32, 48, 80, 3, GemmLayout::NT, DType::bf16});
  check_gemm(gemm, {32, 48, 80, 3, GemmLayout::TN, DType::bf16});
}

TEST_CASE("cuBLASLt fp8 e4m3 GEMM applies per-tensor scales and writes bf16", "[gpu][gemm]") {
  kernels::LtGemm gemm;
  check_gemm(gemm, {64, 48, 96, 1, GemmLayout::NT, DType::e4m3}, 1.0, 1.0);
  // Non-unit scales catch an ignored scale pointer (the product would be off by 2x or 4x).
  check_gemm(gemm, {64, 48, 96, 1, GemmLayout::NT, DType::e4m3}, 0.5, 4.0);
  CHECK_THROWS_AS(gemm.prepare({64, 48, 96, 1, GemmLayout::NN, DType::e4m3}), kernels::KernelError);
  // A scale 4 bytes off a 16-byte boundary is refused with a message (cuBLASLt 13.1 refused it
  // silently with status 15); the check comes before any operand is touched.
  DeviceArray scales(8, DType::f32);
  CHECK_THROWS_AS(gemm.run({64, 48, 96, 1, GemmLayout::NT, DType::e4m3}, nullptr, nullptr, nullptr, nullptr,
                           scales.as<float>(), scales.as<float>() + 1),
                  kernels::KernelError);
}
