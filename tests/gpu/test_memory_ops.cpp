// Memory-bound operators and the harness utilities against float64 references.
#include "kernels/memory_ops.hpp"

#include "test_support.hpp"

using namespace foresight;
using foresight::gputest::DeviceArray;
using kernels::DType;

namespace {

// Tolerance for a result computed in fp32 and stored once in `t`: one rounding (rtol = u) plus
// a small absolute term for fp32 reductions over a row (cols * 2^-24 relative to the row's
// magnitude, a few 1e-5 at the sizes used).
double rtol_of(DType t) { return t == DType::f32 ? 1e-5 : gputest::unit_roundoff(t); }

}  // namespace

TEST_CASE("rmsnorm and layernorm match float64", "[gpu][memory]") {
  for (DType dt : {DType::bf16, DType::f16, DType::f32}) {
    const int64_t rows = 37, cols = 1000;
    const auto x = gputest::random_values(rows * cols, dt, 11), w = gputest::random_values(cols, dt, 12),
               b = gputest::random_values(cols, dt, 13);
    std::vector<double> rms(x.size()), ln(x.size());
    for (int64_t r = 0; r < rows; ++r) {
      double ss = 0, mean = 0, var = 0;
      for (int64_t c = 0; c < cols; ++c) {
        ss += x[r * cols + c] * x[r * cols + c];
        mean += x[r * cols + c];
      }
      mean /= cols;
      for (int64_t c = 0; c < cols; ++c) var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
      var /= cols;
      for (int64_t c = 0; c < cols; ++c) {
        rms[r * cols + c] = x[r * cols + c] / std::sqrt(ss / cols + 1e-5) * w[c];
        ln[r * cols + c] = (x[r * cols + c] - mean) / std::sqrt(var + 1e-5) * w[c] + b[c];
      }
    }
    DeviceArray dx(x.size(), dt), dw(cols, dt), db(cols, dt), dy(x.size(), dt);
    dx.upload(x);
    dw.upload(w);
    db.upload(b);
    dy.poison();
    kernels::rmsnorm(dx.get(), dw.get(), dy.get(), rows, cols, 1e-5f, dt, nullptr);
    gputest::check_close(std::string("rmsnorm ") + kernels::dtype_name(dt), dy.download(), rms, rtol_of(dt), 1e-5);
    dy.poison();
    kernels::layernorm(dx.get(), dw.get(), db.get(), dy.get(), rows, cols, 1e-5f, dt, nullptr);
    gputest::check_close(std::string("layernorm ") + kernels::dtype_name(dt), dy.download(), ln, rtol_of(dt), 1e-5);
  }
}

TEST_CASE("elementwise swiglu, gelu, add match float64 on aligned and unaligned tails", "[gpu][memory]") {
  for (DType dt : {DType::bf16, DType::f16, DType::f32})
    for (int64_t n : {int64_t{1000003}, int64_t{4096}}) {  // odd length exercises the scalar tail
      const auto a = gputest::random_values(n, dt, 21, 0.1, 4.0), b = gputest::random_values(n, dt, 22);
      std::vector<double> sw(n), ge(n), ad(n);
      for (int64_t i = 0; i < n; ++i) {
        sw[i] = a[i] / (1 + std::exp(-a[i])) * b[i];
        ge[i] = 0.5 * a[i] * (1 + std::erf(a[i] / std::sqrt(2.0)));
        ad[i] = a[i] + b[i];
      }
      DeviceArray da(n, dt), dbb(n, dt), dout(n, dt);
      da.upload(a);
      dbb.upload(b);
      const std::string sfx = std::string(" ") + kernels::dtype_name(dt) + " n=" + std::to_string(n);
      // fp32 expf/erff are accurate to a few ulp: 1e-6 absolute on values of order 1.
      dout.poison();
      kernels::swiglu(da.get(), dbb.get(), dout.get(), n, dt, nullptr);
      gputest::check_close("swiglu" + sfx, dout.download(), sw, rtol_of(dt), 1e-6);
      dout.poison();
      kernels::gelu(da.get(), dout.get(), n, dt, nullptr);
      gputest::check_close("gelu" + sfx, dout.download(), ge, rtol_of(dt), 1e-6);
      dout.poison();
      kernels::add(da.get(), dbb.get(), dout.get(), n, dt, nullptr);
      gputest::check_close("add" + sfx, dout.download(), ad, rtol_of(dt), 0.0);
    }
}

TEST_CASE("copy is exact for aligned and unaligned sizes", "[gpu][memory]") {
  for (std::size_t bytes : {std::size_t{1} << 20, std::size_t{1000012}}) {  // the second is not a multiple of 16: byte path
    const std::size_t n = bytes / 4;
    const auto v = gputest::random_values(n, DType::f32, 31);
    DeviceArray src(n, DType::f32), dst(n, DType::f32);
    src.upload(v);
    dst.poison();
    kernels::copy(src.get(), dst.get(), n * 4, nullptr);
    gputest::check_close("copy " + std::to_string(bytes), dst.download(), v, 0.0, 0.0);
  }
  // A byte count that is not a multiple of 16 takes the byte path.
  DeviceArray src(7, DType::e4m3), dst(7, DType::e4m3);
  const auto v = gputest::random_values(7, DType::e4m3, 32);
  src.upload(v);
  dst.poison();
  kernels::copy(src.get(), dst.get(), 7, nullptr);
  gputest::check_close("copy 7 bytes", dst.download(), v, 0.0, 0.0);
}

TEST_CASE("rope rotate-half matches float64", "[gpu][memory]") {
  for (DType dt : {DType::bf16, DType::f32}) {
    const int64_t tokens = 50;
    const int heads = 3, hd = 64;
    std::vector<int32_t> pos(tokens);
    for (int64_t t = 0; t < tokens; ++t) pos[t] = static_cast<int32_t>(t * 97);  // up to ~4.8k
    const auto x = gputest::random_values(tokens * heads * hd, dt, 41);
    std::vector<double> ref(x.size());
    for (int64_t t = 0; t < tokens; ++t)
      for (int h = 0; h < heads; ++h)
        for (int j = 0; j < hd / 2; ++j) {
          const double ang = pos[t] * std::pow(10000.0, -2.0 * j / hd);
          const std::size_t base = (t * heads + h) * hd;
          ref[base + j] = x[base + j] * std::cos(ang) - x[base + j + hd / 2] * std::sin(ang);
          ref[base + j + hd / 2] = x[base + j + hd / 2] * std::cos(ang) + x[base + j] * std::sin(ang);
        }
    DeviceArray dx(x.size(), dt), dy(x.size(), dt), dpos(tokens, DType::f32);
    dx.upload(x);
    FS_CUDA(cudaMemcpy(dpos.get(), pos.data(), tokens * sizeof(int32_t), cudaMemcpyHostToDevice));
    dy.poison();
    kernels::rope(dx.get(), dy.get(), dpos.as<int32_t>(), tokens, heads, hd, 10000.f, dt, nullptr);
    // The angle pos * inv_freq is formed in fp32: relative error 2^-23 of up to ~5k rad is
    // ~6e-4 rad, so allow 2e-3 absolute on outputs of magnitude <= 1.4.
    gputest::check_close(std::string("rope ") + kernels::dtype_name(dt), dy.download(), ref, rtol_of(dt), 2e-3);
  }
}

TEST_CASE("softmax cross-entropy loss and gradient match float64", "[gpu][memory]") {
  for (DType dt : {DType::bf16, DType::f32}) {
    const int64_t rows = 9, vocab = 5003;
    const auto x = gputest::random_values(rows * vocab, dt, 51, 0.1, 8.0);
    std::vector<int32_t> labels(rows);
    for (int64_t r = 0; r < rows; ++r) labels[r] = static_cast<int32_t>((r * 1237) % vocab);
    labels[4] = -100;  // ignored row
    const double gscale = 0.25;
    std::vector<double> loss(rows), grad(x.size());
    for (int64_t r = 0; r < rows; ++r) {
      double m = -1e300, s = 0;
      for (int64_t c = 0; c < vocab; ++c) m = std::max(m, x[r * vocab + c]);
      for (int64_t c = 0; c < vocab; ++c) s += std::exp(x[r * vocab + c] - m);
      const double lse = m + std::log(s);
      const bool ignored = labels[r] < 0;
      loss[r] = ignored ? 0 : lse - x[r * vocab + labels[r]];
      for (int64_t c = 0; c < vocab; ++c)
        grad[r * vocab + c] = ignored ? 0 : (std::exp(x[r * vocab + c] - lse) - (c == labels[r] ? 1 : 0)) * gscale;
    }
    DeviceArray dx(x.size(), dt), dg(x.size(), dt), dloss(rows, DType::f32), dlab(rows, DType::f32);
    dx.upload(x);
    FS_CUDA(cudaMemcpy(dlab.get(), labels.data(), rows * sizeof(int32_t), cudaMemcpyHostToDevice));
    dg.poison();
    dloss.poison();
    kernels::softmax_cross_entropy(dx.get(), dlab.as<int32_t>(), dloss.as<float>(), dg.get(), rows, vocab,
                                   static_cast<float>(gscale), dt, nullptr);
    // Loss is fp32 from a sum over 5k exponentials of values up to 8: ~1e-5 absolute.
    gputest::check_close(std::string("cross-entropy loss ") + kernels::dtype_name(dt), dloss.download(), loss, 1e-6, 1e-4);
    // Gradient: one rounding to the storage type plus fp32 exp error relative to the probability.
    gputest::check_close(std::string("cross-entropy grad ") + kernels::dtype_name(dt), dg.download(), grad,
                         rtol_of(dt) + 1e-5, 1e-7);
  }
}

TEST_CASE("fill_random is never zero and count_nonfinite finds poison", "[gpu][memory]") {
  for (DType dt : {DType::bf16, DType::f16, DType::f32, DType::e4m3}) {
    const int64_t n = 100001;
    DeviceArray a(n, dt);
    a.poison();
    CHECK(kernels::count_nonfinite(a.get(), n, dt, nullptr) == n);
    kernels::fill_random(a.get(), n, dt, 3, 1.f, nullptr);
    CHECK(kernels::count_nonfinite(a.get(), n, dt, nullptr) == 0);
    const auto v = a.download();
    int64_t zeros = 0;
    double lo = 1e9, hi = 0;
    for (double x : v) {
      zeros += x == 0;
      lo = std::min(lo, std::fabs(x));
      hi = std::max(hi, std::fabs(x));
    }
    INFO(kernels::dtype_name(dt));
    CHECK(zeros == 0);
    CHECK(lo >= 0.09);  // 0.1 minus one rounding of the coarsest type (e4m3)
    CHECK(hi <= 1.0);
  }
}
