// GEMM sweep: the linear layers of GPT-3 175B and Llama-3 8B/70B/405B under tensor parallelism
// 1/2/4/8 (forward, activation-gradient and weight-gradient GEMMs), a grid around tile and wave
// boundaries, small-m (decode) shapes, and the shapes of the published H100 measurements.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "calibrate/harness/harness_internal.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/memory_ops.hpp"
#include "kernels/gemm.hpp"

namespace foresight::calibrate::detail {
namespace {

using kernels::DType;
using kernels::GemmLayout;
using kernels::GemmShape;

struct Case {
  GemmShape shape;
  std::string source;
};

struct Model {
  const char* name;
  int64_t hidden, ffn, heads, kv_heads, head_dim;
  bool gated;  // SwiGLU MLP: FC1 produces gate and up together
};

const Model kModels[] = {
    {"gpt3-175b", 12288, 49152, 96, 96, 128, false},
    {"llama3-8b", 4096, 14336, 32, 8, 128, true},
    {"llama3-70b", 8192, 28672, 64, 8, 128, true},
    {"llama3-405b", 16384, 53248, 128, 8, 128, true},
};

// A linear layer computes Y[t, out] = X[t, in] W[out, in]^T; training also runs
// dX[t, in] = dY[t, out] W[out, in] (NN) and dW[out, in] = dY[t, out]^T X[t, in] (TN).
void add_linear(std::vector<Case>& cases, const std::string& src, int64_t tokens, int64_t in, int64_t out, DType dt,
                bool backward) {
  cases.push_back({{tokens, out, in, 1, GemmLayout::NT, dt}, src + ":fwd"});
  if (backward) {
    cases.push_back({{tokens, in, out, 1, GemmLayout::NN, dt}, src + ":dgrad"});
    cases.push_back({{out, in, tokens, 1, GemmLayout::TN, dt}, src + ":wgrad"});
  }
}

std::vector<Case> build_cases(bool quick) {
  std::vector<Case> cases;
  const std::vector<int64_t> tps = quick ? std::vector<int64_t>{1, 8} : std::vector<int64_t>{1, 2, 4, 8};
  const std::vector<int64_t> tokens_fwd = quick ? std::vector<int64_t>{4096} : std::vector<int64_t>{2048, 4096, 8192, 16384};
  const std::vector<int64_t> tokens_bwd = quick ? std::vector<int64_t>{} : std::vector<int64_t>{4096, 16384};
  for (const Model& m : kModels) {
    for (int64_t tp : tps) {
      const int64_t qkv = (m.heads + 2 * m.kv_heads) * m.head_dim / tp;
      const int64_t fc1 = (m.gated ? 2 : 1) * m.ffn / tp;
      struct Layer {
        const char* name;
        int64_t in, out;
      } layers[] = {{"qkv", m.hidden, qkv}, {"proj", m.heads * m.head_dim / tp, m.hidden}, {"fc1", m.hidden, fc1},
                    {"fc2", m.ffn / tp, m.hidden}};
      for (const Layer& l : layers) {
        const std::string src = std::string("model:") + m.name + ":" + l.name + ":tp" + std::to_string(tp);
        for (int64_t t : tokens_fwd) {
          add_linear(cases, src, t, l.in, l.out, DType::bf16, false);
          add_linear(cases, src, t, l.in, l.out, DType::e4m3, false);
        }
        for (int64_t t : tokens_bwd) {
          cases.push_back({{t, l.in, l.out, 1, GemmLayout::NN, DType::bf16}, src + ":dgrad"});
          cases.push_back({{l.out, l.in, t, 1, GemmLayout::TN, DType::bf16}, src + ":wgrad"});
        }
        if (!quick) {
          add_linear(cases, src, 4096, l.in, l.out, DType::f16, false);
          add_linear(cases, src, 4096, l.in, l.out, DType::tf32, false);
        }
      }
    }
  }
  // Tile/wave quantisation: n in steps of 128 (a common tile edge) plus off-boundary points.
  const int64_t nmax = quick ? 8 : 40;
  for (int64_t i = 1; i <= nmax; ++i) cases.push_back({{8192, 128 * i, 8192, 1, GemmLayout::NT, DType::bf16}, "grid:n"});
  if (!quick)
    for (int64_t i : {8, 16, 24, 32})
      cases.push_back({{8192, 128 * i + 64, 8192, 1, GemmLayout::NT, DType::bf16}, "grid:n-offset"});
  const std::vector<int64_t> squares = quick ? std::vector<int64_t>{1024, 4096}
                                             : std::vector<int64_t>{256, 512, 768, 1024, 1536, 2048, 3072, 4096, 5120,
                                                                    6144, 8192, 12288, 16384};
  for (int64_t s : squares)
    for (DType dt : {DType::bf16, DType::e4m3}) cases.push_back({{s, s, s, 1, GemmLayout::NT, dt}, "grid:square"});
  // Decode-time GEMMs: few tokens against a large weight, memory-bound at small m.
  for (int64_t m : {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}) {
    if (quick && m != 1 && m != 64) continue;
    cases.push_back({{m, 8192, 8192, 1, GemmLayout::NT, DType::bf16}, "grid:small-m"});
    if (m % 16 == 0) cases.push_back({{m, 8192, 8192, 1, GemmLayout::NT, DType::e4m3}, "grid:small-m"});
  }
  // Batched GEMMs (attention-score shaped) so the batch dimension is calibrated too.
  for (int64_t b : {8, 32, 128}) cases.push_back({{1024, 1024, 128, b, GemmLayout::NT, DType::bf16}, "grid:batched"});
  // Published H100 measurements (validation/gemm_h100.csv).
  const struct {
    DType dt;
    int64_t m, n, k;
  } published[] = {{DType::bf16, 2048, 2048, 13312}, {DType::e4m3, 1024, 9216, 14336}, {DType::e4m3, 1024, 1024, 1024},
                   {DType::e4m3, 2048, 2048, 2048},  {DType::e4m3, 4096, 4096, 4096},   {DType::e4m3, 8192, 8192, 8192},
                   {DType::e4m3, 16384, 16384, 16384}, {DType::e4m3, 32768, 32768, 32768},
                   {DType::e4m3, 1024, 2145, 1024},  {DType::e4m3, 6144, 12288, 12288}, {DType::e4m3, 802816, 192, 768}};
  for (const auto& p : published) {
    if (quick && p.m * p.n * p.k > (int64_t{1} << 36)) continue;
    cases.push_back({{p.m, p.n, p.k, 1, GemmLayout::NT, p.dt}, "validation:gemm_h100"});
  }
  // Published shapes first: they must survive a section running out of time.
  const auto rest = std::stable_partition(cases.begin(), cases.end(),
                                         [](const Case& c) { return c.source.rfind("validation:", 0) == 0; });
  // The rest in a spread order, so a sweep cut short by its budget still covers every model,
  // TP degree, dtype and grid line instead of losing the last models entirely.
  spread_order(cases, static_cast<std::size_t>(rest - cases.begin()));
  return cases;
}

}  // namespace

void sweep_gemm(Context& ctx) {
  if (!ctx.wanted("gemm")) return;
  kernels::LtGemm gemm;
  DeviceBuffer a, b, c, scales;
  // The two fp8 scales 16 bytes apart: on the first H200 runs every fp8 GEMM was refused at run
  // time (status 15) with the B scale at a 4-byte offset from the A scale.
  float* scale = static_cast<float*>(scales.get(8 * sizeof(float), DType::f32, ctx.stream, 7));
  const float ones[8] = {1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f};
  FS_CUDA(cudaMemcpyAsync(scale, ones, sizeof(ones), cudaMemcpyHostToDevice, ctx.stream));

  const std::vector<Case> cases = build_cases(ctx.opts.quick);
  std::cerr << "  " << cases.size() << " GEMM cases\n";
  std::size_t done = 0;
  for (const Case& cs : cases) {
    if (ctx.skip_for_time("gemm")) continue;
    const GemmShape& s = cs.shape;
    const std::string what = std::string(kernels::dtype_name(s.dtype)) + " " + kernels::gemm_layout_name(s.layout) +
                             " " + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k) +
                             (s.batch > 1 ? " b" + std::to_string(s.batch) : "") + " (" + cs.source + ")";
    ctx.guarded("gemm", what, [&] {
      const std::size_t es = kernels::dtype_size(s.dtype);
      const DType out_t = kernels::gemm_output_dtype(s.dtype);
      const std::size_t out_elems = static_cast<std::size_t>(s.m * s.n * s.batch);
      void* pa = a.get(static_cast<std::size_t>(s.m * s.k * s.batch) * es, s.dtype == DType::tf32 ? DType::f32 : s.dtype,
                       ctx.stream, 1);
      void* pb = b.get(static_cast<std::size_t>(s.k * s.n * s.batch) * es, s.dtype == DType::tf32 ? DType::f32 : s.dtype,
                       ctx.stream, 2);
      void* pc = c.get(out_elems * kernels::dtype_size(out_t), out_t, ctx.stream, 3);
      // Refilled per case: the buffers are shared between dtypes, and another dtype's bytes can
      // be NaN/Inf encodings in this one.
      kernels::fill_random(pa, s.m * s.k * s.batch, s.dtype == DType::tf32 ? DType::f32 : s.dtype, 11, 1.f, ctx.stream);
      kernels::fill_random(pb, s.k * s.n * s.batch, s.dtype == DType::tf32 ? DType::f32 : s.dtype, 12, 1.f, ctx.stream);
      auto run = [&] { gemm.run(s, pa, pb, pc, ctx.stream, scale, scale + 4); };
      ctx.check_written(run, pc, out_elems, out_t, "gemm " + what);
      const Timing t = ctx.time(run, true);
      ctx.record({{"op", "gemm"},
                  {"backend", "cublaslt"},
                  {"dtype", kernels::dtype_name(s.dtype)},
                  {"shape",
                   {{"m", s.m}, {"n", s.n}, {"k", s.k}, {"batch", s.batch}, {"layout", kernels::gemm_layout_name(s.layout)}}},
                  {"flops", kernels::gemm_flops(s)},
                  {"bytes", kernels::gemm_bytes(s)},
                  {"cache", "cold"},
                  {"source", cs.source},
                  {"algo", gemm.algo_description(s)}},
                 t);
    });
    if (++done % 100 == 0) std::cerr << "  gemm " << done << "/" << cases.size() << "\n";
  }
}

}  // namespace foresight::calibrate::detail
