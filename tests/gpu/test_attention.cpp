// Attention against float64 references: our FlashAttention-2-style forward/backward, cuDNN fused
// SDPA (where the installed cuDNN has an engine), and paged decode attention.
#include "kernels/attention.hpp"

#include <limits>
#include <memory>
#include <numeric>

#include "kernels/cudnn_sdpa.hpp"
#include "test_support.hpp"

using namespace foresight;
using foresight::gputest::DeviceArray;
using kernels::DType;

namespace {

struct Cfg {
  int batch, seq_q, seq_kv, heads, kv_heads, head_dim;
  bool causal;
  DType dtype;
};

std::string name_of(const Cfg& c) {
  return std::string(kernels::dtype_name(c.dtype)) + " b" + std::to_string(c.batch) + " sq" + std::to_string(c.seq_q) +
         " skv" + std::to_string(c.seq_kv) + " h" + std::to_string(c.heads) + "/" + std::to_string(c.kv_heads) + " d" +
         std::to_string(c.head_dim) + (c.causal ? " causal" : "");
}

// With `sdpa` the forward runs through cuDNN's fused SDPA instead of our kernel (forward only).
void check_attention(const Cfg& c, kernels::CudnnSdpa* sdpa = nullptr) {
  const int B = c.batch, Sq = c.seq_q, Sk = c.seq_kv, H = c.heads, Hk = c.kv_heads, D = c.head_dim;
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const std::size_t nq = static_cast<std::size_t>(B) * Sq * H * D, nk = static_cast<std::size_t>(B) * Sk * Hk * D;
  const auto q = gputest::random_values(nq, c.dtype, 1), k = gputest::random_values(nk, c.dtype, 2),
             v = gputest::random_values(nk, c.dtype, 3), dout = gputest::random_values(nq, c.dtype, 4);
  auto qi_ = [&](int b, int i, int h, int d) { return ((static_cast<std::size_t>(b) * Sq + i) * H + h) * D + d; };
  auto ki_ = [&](int b, int j, int h, int d) { return ((static_cast<std::size_t>(b) * Sk + j) * Hk + h) * D + d; };

  // float64 reference: forward, then the exact gradients. Alongside each output we accumulate
  // the sum of |terms| it is made of, which bounds the fp32 accumulation error, and for dQ/dK the
  // effect of the kernel computing D_i = rowsum(dO*O) from its stored O (as FlashAttention-2
  // does), whose error is bounded by the forward tolerance.
  const double u = gputest::unit_roundoff(c.dtype);
  std::vector<double> o(nq, 0), o_abs(nq, 0), lse(static_cast<std::size_t>(B) * H * Sq);
  std::vector<double> dq(nq, 0), dq_tol(nq, 0), dk(nk, 0), dk_tol(nk, 0), dv(nk, 0), dv_abs(nk, 0);
  const int off = Sk - Sq;
  std::vector<double> p(Sk), dp(Sk), dp_abs(Sk);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const int kh = h / (H / Hk);
      for (int i = 0; i < Sq; ++i) {
        double m = -std::numeric_limits<double>::infinity();
        int n_valid = 0;
        for (int j = 0; j < Sk; ++j) {
          if (c.causal && j > i + off) { p[j] = -1; continue; }
          double s = 0;
          for (int d = 0; d < D; ++d) s += q[qi_(b, i, h, d)] * k[ki_(b, j, kh, d)];
          p[j] = s * scale;
          m = std::max(m, p[j]);
          ++n_valid;
        }
        const std::size_t li = (static_cast<std::size_t>(b) * H + h) * Sq + i;
        if (n_valid == 0) {
          lse[li] = -std::numeric_limits<double>::infinity();
          continue;  // o and all gradients of this row stay 0
        }
        double l = 0;
        for (int j = 0; j < Sk; ++j) {
          const bool valid = !(c.causal && j > i + off);
          p[j] = valid ? std::exp(p[j] - m) : 0.0;
          l += p[j];
        }
        for (int j = 0; j < Sk; ++j) p[j] /= l;
        lse[li] = m + std::log(l);
        double delta = 0, delta_err = 0;
        for (int d = 0; d < D; ++d) {
          double acc = 0, abs_acc = 0;
          for (int j = 0; j < Sk; ++j) {
            acc += p[j] * v[ki_(b, j, kh, d)];
            abs_acc += p[j] * std::fabs(v[ki_(b, j, kh, d)]);
          }
          o[qi_(b, i, h, d)] = acc;
          o_abs[qi_(b, i, h, d)] = abs_acc;
          delta += dout[qi_(b, i, h, d)] * acc;
          // The kernel's O carries at most one rounding plus the fp32 error allowed below.
          delta_err += std::fabs(dout[qi_(b, i, h, d)]) * (u * std::fabs(acc) + 1e-4 * abs_acc);
        }
        for (int j = 0; j < Sk; ++j) {
          double s = 0, sa = 0;
          for (int d = 0; d < D; ++d) {
            s += dout[qi_(b, i, h, d)] * v[ki_(b, j, kh, d)];
            sa += std::fabs(dout[qi_(b, i, h, d)] * v[ki_(b, j, kh, d)]);
          }
          dp[j] = s;
          dp_abs[j] = sa;
        }
        for (int j = 0; j < Sk; ++j) {
          if (p[j] == 0) continue;
          const double ds = p[j] * (dp[j] - delta);
          // dP - D_i can cancel: bound the fp32 error of dP by its |terms| rather than by |dS|.
          const double ds_tol = p[j] * (delta_err + 1e-5 * dp_abs[j]) + 1e-4 * std::fabs(ds);
          for (int d = 0; d < D; ++d) {
            dq[qi_(b, i, h, d)] += scale * ds * k[ki_(b, j, kh, d)];
            dq_tol[qi_(b, i, h, d)] += scale * ds_tol * std::fabs(k[ki_(b, j, kh, d)]);
            dk[ki_(b, j, kh, d)] += scale * ds * q[qi_(b, i, h, d)];
            dk_tol[ki_(b, j, kh, d)] += scale * ds_tol * std::fabs(q[qi_(b, i, h, d)]);
            dv[ki_(b, j, kh, d)] += p[j] * dout[qi_(b, i, h, d)];
            dv_abs[ki_(b, j, kh, d)] += p[j] * std::fabs(dout[qi_(b, i, h, d)]);
          }
        }
      }
    }

  DeviceArray d_q(nq, c.dtype), d_k(nk, c.dtype), d_v(nk, c.dtype), d_o(nq, c.dtype), d_lse(lse.size(), DType::f32);
  DeviceArray d_do(nq, c.dtype), d_dq(nq, c.dtype), d_dk(nk, c.dtype), d_dv(nk, c.dtype);
  d_q.upload(q);
  d_k.upload(k);
  d_v.upload(v);
  d_do.upload(dout);
  d_o.poison();
  d_lse.poison();
  kernels::AttentionParams prm;
  prm.q = d_q.get();
  prm.k = d_k.get();
  prm.v = d_v.get();
  prm.o = d_o.get();
  prm.lse = d_lse.as<float>();
  prm.batch = B;
  prm.seq_q = Sq;
  prm.seq_kv = Sk;
  prm.heads = H;
  prm.kv_heads = Hk;
  prm.head_dim = D;
  prm.causal = c.causal;
  prm.dtype = c.dtype;
  if (sdpa) sdpa->forward(prm, nullptr);
  else kernels::attention_forward(prm, nullptr);
  FS_CUDA(cudaDeviceSynchronize());
  const std::string nm = (sdpa ? "cudnn-sdpa " : "") + name_of(c);
  // cuDNN feeds P to the tensor cores in the storage type: one more rounding of each p_j, i.e.
  // up to u * sum_j p_j |v_j| on the output. Our kernel keeps P in fp32.
  const double p_round = sdpa ? u : 0.0;
  // Output: one rounding to the storage type (rtol = u) plus fp32 error of P and of the sum,
  // bounded by 1e-4 of sum_j p_j |v_j| (fp32 exp2 and dot products are accurate to ~1e-6 here).
  gputest::check_close("attention forward O " + nm, d_o.download(), o, u,
                       [&](std::size_t i) { return (1e-4 + p_round) * o_abs[i]; });
  // lse is fp32: scores carry ~1e-6 absolute error; rows with no visible key must be -inf.
  const auto got_lse = d_lse.download();
  for (std::size_t i = 0; i < lse.size(); ++i) {
    if (std::isinf(lse[i])) {
      INFO("lse of a fully masked row " << i << " in " << nm);
      CHECK(got_lse[i] == lse[i]);
    }
  }
  std::vector<double> lse_finite(lse), got_finite(got_lse);
  for (std::size_t i = 0; i < lse.size(); ++i)
    if (std::isinf(lse[i])) lse_finite[i] = got_finite[i] = 0;
  // cuDNN's tensor-core score accumulation order differs from ours: allow 5e-4 there.
  gputest::check_close("attention forward lse " + nm, got_finite, lse_finite, 1e-6, sdpa ? 5e-4 : 1e-4);
  if (sdpa) return;

  kernels::AttentionBackwardParams bp;
  bp.fwd = prm;
  bp.dout = d_do.get();
  bp.dq = d_dq.get();
  bp.dk = d_dk.get();
  bp.dv = d_dv.get();
  void* ws = nullptr;
  FS_CUDA(cudaMalloc(&ws, kernels::attention_backward_workspace_bytes(prm)));
  FS_CUDA(cudaMemset(ws, 0xFF, kernels::attention_backward_workspace_bytes(prm)));
  bp.workspace = ws;
  d_dq.poison();
  d_dk.poison();
  d_dv.poison();
  kernels::attention_backward(bp, nullptr);
  FS_CUDA(cudaDeviceSynchronize());
  cudaFree(ws);
  gputest::check_close("attention backward dV " + nm, d_dv.download(), dv, u, [&](std::size_t i) { return 1e-4 * dv_abs[i]; });
  gputest::check_close("attention backward dK " + nm, d_dk.download(), dk, u, [&](std::size_t i) { return dk_tol[i] + 1e-7; });
  gputest::check_close("attention backward dQ " + nm, d_dq.download(), dq, u, [&](std::size_t i) { return dq_tol[i] + 1e-7; });
}

}  // namespace

TEST_CASE("fused attention forward and backward match float64", "[gpu][attention]") {
  const std::vector<Cfg> cfgs = {
      {2, 100, 100, 4, 2, 64, false, DType::bf16},   // GQA 2:1, sequence not a multiple of the tiles
      {2, 100, 100, 4, 2, 64, true, DType::bf16},
      {1, 130, 130, 2, 2, 128, false, DType::bf16},  // MHA, head_dim 128
      {1, 130, 130, 4, 1, 128, true, DType::bf16},   // MQA
      {1, 37, 150, 2, 1, 64, true, DType::bf16},     // causal, fewer queries than keys (bottom-right)
      {1, 150, 70, 2, 2, 64, true, DType::bf16},     // causal, early rows see no key at all
      {2, 90, 90, 2, 2, 128, true, DType::f16},
  };
  for (const Cfg& c : cfgs) check_attention(c);
}

TEST_CASE("cuDNN fused SDPA forward matches float64 where cuDNN supports the graph", "[gpu][attention][cudnn]") {
  std::unique_ptr<kernels::CudnnSdpa> sdpa;
  try {
    sdpa = std::make_unique<kernels::CudnnSdpa>();
  } catch (const kernels::UnsupportedError& e) {
    WARN("cudnn-sdpa unavailable, not checked: " << e.what());
    return;
  }
  const std::vector<Cfg> cfgs = {
      {2, 128, 128, 4, 2, 64, false, DType::bf16},
      {2, 128, 128, 4, 2, 64, true, DType::bf16},
      {1, 200, 200, 2, 2, 128, true, DType::f16},
      {1, 256, 256, 4, 1, 128, false, DType::bf16},
  };
  for (const Cfg& c : cfgs) {
    try {
      check_attention(c, sdpa.get());
    } catch (const kernels::UnsupportedError& e) {
      // A graph the installed cuDNN has no engine for is a limitation of that cuDNN, reported
      // here and in the harness's provenance.unsupported, not a wrong result. Any other
      // KernelError propagates and fails the test.
      WARN("cudnn-sdpa declined " << name_of(c) << ": " << e.what());
    }
  }
}

TEST_CASE("attention rejects unsupported configurations", "[gpu][attention]") {
  kernels::AttentionParams p;
  p.seq_q = p.seq_kv = 16;
  p.head_dim = 96;
  CHECK_THROWS_AS(kernels::attention_forward(p, nullptr), kernels::KernelError);
  p.head_dim = 64;
  p.heads = 6;
  p.kv_heads = 4;
  CHECK_THROWS_AS(kernels::attention_forward(p, nullptr), kernels::KernelError);
}

TEST_CASE("paged decode attention matches float64", "[gpu][attention][decode]") {
  for (DType dt : {DType::bf16, DType::f16})
    for (int D : {64, 128}) {
      const int B = 3, H = 8, Hk = 2, page = 16, max_pages = 20;
      const std::vector<int> lens = {1, 37, 300};  // single token, partial page, many pages
      const int n_pages = B * max_pages;
      // A shuffled page assignment, so a kernel that ignores the block table fails.
      std::vector<int> table(n_pages);
      std::iota(table.begin(), table.end(), 0);
      std::mt19937_64 rng(5);
      for (int i = n_pages - 1; i > 0; --i) std::swap(table[i], table[static_cast<int>(rng() % (i + 1))]);
      const std::size_t nq = static_cast<std::size_t>(B) * H * D, nkv = static_cast<std::size_t>(n_pages) * page * Hk * D;
      const auto q = gputest::random_values(nq, dt, 6), kc = gputest::random_values(nkv, dt, 7),
                 vc = gputest::random_values(nkv, dt, 8);
      const double scale = 1.0 / std::sqrt(static_cast<double>(D));
      std::vector<double> ref(nq, 0), ref_abs(nq, 0);
      for (int b = 0; b < B; ++b)
        for (int h = 0; h < H; ++h) {
          const int kh = h / (H / Hk);
          std::vector<double> s(lens[b]);
          double m = -1e300;
          auto slot = [&](int t) { return static_cast<std::size_t>(table[b * max_pages + t / page]) * page + t % page; };
          for (int t = 0; t < lens[b]; ++t) {
            double acc = 0;
            for (int d = 0; d < D; ++d) acc += q[(b * H + h) * D + d] * kc[(slot(t) * Hk + kh) * D + d];
            s[t] = acc * scale;
            m = std::max(m, s[t]);
          }
          double l = 0;
          for (double& x : s) l += (x = std::exp(x - m));
          for (int d = 0; d < D; ++d) {
            double acc = 0, abs_acc = 0;
            for (int t = 0; t < lens[b]; ++t) {
              acc += s[t] / l * vc[(slot(t) * Hk + kh) * D + d];
              abs_acc += s[t] / l * std::fabs(vc[(slot(t) * Hk + kh) * D + d]);
            }
            ref[(b * H + h) * D + d] = acc;
            ref_abs[(b * H + h) * D + d] = abs_acc;
          }
        }
      DeviceArray d_q(nq, dt), d_k(nkv, dt), d_v(nkv, dt), d_o(nq, dt);
      DeviceArray d_table(n_pages, DType::f32), d_lens(B, DType::f32);
      d_q.upload(q);
      d_k.upload(kc);
      d_v.upload(vc);
      FS_CUDA(cudaMemcpy(d_table.get(), table.data(), n_pages * sizeof(int), cudaMemcpyHostToDevice));
      FS_CUDA(cudaMemcpy(d_lens.get(), lens.data(), B * sizeof(int), cudaMemcpyHostToDevice));
      d_o.poison();
      kernels::PagedDecodeParams p;
      p.q = d_q.get();
      p.k_cache = d_k.get();
      p.v_cache = d_v.get();
      p.block_table = d_table.as<int>();
      p.context_lens = d_lens.as<int>();
      p.out = d_o.get();
      p.batch = B;
      p.heads = H;
      p.kv_heads = Hk;
      p.head_dim = D;
      p.page_size = page;
      p.max_pages_per_seq = max_pages;
      p.dtype = dt;
      kernels::paged_decode_attention(p, nullptr);
      FS_CUDA(cudaDeviceSynchronize());
      // One rounding of the output plus fp32 softmax/accumulation error (see forward test).
      gputest::check_close(std::string("paged decode ") + kernels::dtype_name(dt) + " d" + std::to_string(D),
                           d_o.download(), ref, gputest::unit_roundoff(dt), [&](std::size_t i) { return 1e-4 * ref_abs[i]; });
    }
}
