// Host-side helpers of the GPU tests: deterministic random data rounded to the storage type,
// device buffers, poisoning, and tolerance checks against float64 references.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cuda_check.hpp"
#include "kernels/dtype.hpp"

namespace foresight::gputest {

using kernels::DType;

// Rounds a double to the storage type and back, i.e. the value the GPU will actually see.
inline double round_to(DType t, double x) {
  switch (t) {
    case DType::f32: return static_cast<float>(x);
    case DType::tf32: return static_cast<float>(x);
    case DType::f16: return __half2float(__float2half_rn(static_cast<float>(x)));
    case DType::bf16: return __bfloat162float(__float2bfloat16_rn(static_cast<float>(x)));
    case DType::e4m3: return static_cast<float>(__nv_fp8_e4m3(static_cast<float>(x)));
  }
  return x;
}

// Values of random sign with magnitude in [lo, hi], rounded to `t`; never zero so that a kernel
// that ignores an input cannot pass by accident. std::mt19937_64 is fully specified, and the
// mapping to doubles is done by hand, so the data is the same on every platform.
inline std::vector<double> random_values(std::size_t n, DType t, uint64_t seed, double lo = 0.1, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::vector<double> v(n);
  for (auto& x : v) {
    const uint64_t r = rng();
    const double u = static_cast<double>(r >> 11) * (1.0 / 9007199254740992.0);
    const double mag = lo + (hi - lo) * u;
    x = round_to(t, (r & 1u) ? mag : -mag);
  }
  return v;
}

// Device memory holding elements of one storage type.
class DeviceArray {
 public:
  DeviceArray(std::size_t n, DType t) : n_(n), t_(t) { FS_CUDA(cudaMalloc(&p_, std::max<std::size_t>(bytes(), 16))); }
  ~DeviceArray() { cudaFree(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  void* get() const { return p_; }
  template <typename T> T* as() const { return static_cast<T*>(p_); }
  std::size_t bytes() const { return n_ * kernels::dtype_size(t_); }
  std::size_t size() const { return n_; }

  void upload(const std::vector<double>& v) {
    REQUIRE(v.size() == n_);
    std::vector<unsigned char> raw(bytes());
    for (std::size_t i = 0; i < n_; ++i) {
      const float f = static_cast<float>(v[i]);
      switch (t_) {
        case DType::f32: case DType::tf32: std::memcpy(&raw[i * 4], &f, 4); break;
        case DType::f16: { const __half h = __float2half_rn(f); std::memcpy(&raw[i * 2], &h, 2); break; }
        case DType::bf16: { const __nv_bfloat16 h = __float2bfloat16_rn(f); std::memcpy(&raw[i * 2], &h, 2); break; }
        case DType::e4m3: { const __nv_fp8_e4m3 h(f); std::memcpy(&raw[i], &h, 1); break; }
      }
    }
    FS_CUDA(cudaMemcpy(p_, raw.data(), raw.size(), cudaMemcpyHostToDevice));
  }
  std::vector<double> download() const {
    std::vector<unsigned char> raw(bytes());
    FS_CUDA(cudaMemcpy(raw.data(), p_, raw.size(), cudaMemcpyDeviceToHost));
    std::vector<double> v(n_);
    for (std::size_t i = 0; i < n_; ++i) {
      switch (t_) {
        case DType::f32: case DType::tf32: { float f; std::memcpy(&f, &raw[i * 4], 4); v[i] = f; break; }
        case DType::f16: { __half h; std::memcpy(&h, &raw[i * 2], 2); v[i] = __half2float(h); break; }
        case DType::bf16: { __nv_bfloat16 h; std::memcpy(&h, &raw[i * 2], 2); v[i] = __bfloat162float(h); break; }
        case DType::e4m3: { __nv_fp8_e4m3 h; std::memcpy(&h, &raw[i], 1); v[i] = static_cast<float>(h); break; }
      }
    }
    return v;
  }
  // All-ones bytes are NaN in every float format used here: any element the kernel does not
  // write is caught by the comparison.
  void poison() { FS_CUDA(cudaMemset(p_, 0xFF, bytes())); }

 private:
  void* p_ = nullptr;
  std::size_t n_;
  DType t_;
};

// |got - ref| <= atol + rtol * |ref| elementwise, where atol may depend on the element through
// `atol_of` (e.g. proportional to the sum of |terms| of a dot product). NaN never passes.
template <typename AtolFn>
inline void check_close(const std::string& what, const std::vector<double>& got, const std::vector<double>& ref,
                        double rtol, AtolFn atol_of) {
  REQUIRE(got.size() == ref.size());
  std::size_t bad = 0, first = 0;
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(got[i] - ref[i]);
    const double tol = atol_of(i) + rtol * std::fabs(ref[i]);
    if (!(err <= tol)) {
      if (bad++ == 0) first = i;
    }
    if (std::isfinite(err)) worst = std::max(worst, err);
  }
  std::ostringstream msg;
  msg << what << ": " << bad << " of " << got.size() << " elements out of tolerance (max finite error " << worst << ")";
  if (bad) msg << "; first at " << first << ": got " << got[first] << " want " << ref[first];
  INFO(msg.str());
  CHECK(bad == 0);
}

inline void check_close(const std::string& what, const std::vector<double>& got, const std::vector<double>& ref,
                        double rtol, double atol) {
  check_close(what, got, ref, rtol, [atol](std::size_t) { return atol; });
}

inline double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Unit roundoff (half an ulp at 1) of each storage type: the error of one rounding to it.
inline double unit_roundoff(DType t) {
  switch (t) {
    case DType::f32: return std::ldexp(1.0, -24);
    case DType::tf32: return std::ldexp(1.0, -11);
    case DType::f16: return std::ldexp(1.0, -11);
    case DType::bf16: return std::ldexp(1.0, -8);
    case DType::e4m3: return std::ldexp(1.0, -4);
  }
  return 0;
}

}  // namespace foresight::gputest
