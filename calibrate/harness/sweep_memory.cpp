// Memory-bound operator sweep: every op at several sizes, timed cache-cold (L2 flushed) and
// cache-hot (back-to-back on the same buffers), with the bytes each op must move at minimum.
#include <iostream>
#include <string>
#include <vector>

#include "calibrate/harness/harness_internal.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/memory_ops.hpp"

namespace foresight::calibrate::detail {
namespace {

using kernels::DType;

void time_both(Context& ctx, nlohmann::json m, const std::function<void()>& run, const std::string& what) {
  for (bool cold : {true, false}) {
    nlohmann::json rec = m;
    rec["cache"] = cold ? "cold" : "hot";
    const Timing t = ctx.time(run, cold);
    ctx.record(rec, t);
    if (cold && m.contains("bytes"))
      std::cerr << "  " << what << ": " << m["bytes"].get<double>() / t.median_s * 1e-9 << " GB/s cold\n";
  }
}

}  // namespace

void sweep_memory(Context& ctx) {
  const bool quick = ctx.opts.quick;
  const DType dt = DType::bf16;
  const double es = 2.0;
  DeviceBuffer x, y, w, bias, out, labels, loss, pos;

  // Row-wise ops: rows = tokens, cols = hidden size.
  const std::vector<int64_t> rows_list = quick ? std::vector<int64_t>{4096} : std::vector<int64_t>{1024, 2048, 4096, 8192, 16384, 32768};
  const std::vector<int64_t> cols_list =
      quick ? std::vector<int64_t>{8192} : std::vector<int64_t>{2048, 4096, 5120, 8192, 12288, 16384};
  for (const char* op : {"rmsnorm", "layernorm"}) {
    if (!ctx.wanted(op)) continue;
    const bool rms = std::string(op) == "rmsnorm";
    for (int64_t rows : rows_list)
      for (int64_t cols : cols_list) {
        const std::string what = std::string(op) + " " + std::to_string(rows) + "x" + std::to_string(cols);
        if (ctx.skip_for_time(op)) continue;
        ctx.guarded(op, what, [&] {
          const std::size_t n = static_cast<std::size_t>(rows * cols);
          void* px = x.get(n * 2, dt, ctx.stream, 41);
          void* pw = w.get(cols * 2, dt, ctx.stream, 42);
          void* pb = bias.get(cols * 2, dt, ctx.stream, 43);
          void* po = out.get(n * 2, dt, ctx.stream, 44);
          auto run = [&] {
            if (rms) kernels::rmsnorm(px, pw, po, rows, cols, 1e-5f, dt, ctx.stream);
            else kernels::layernorm(px, pw, pb, po, rows, cols, 1e-5f, dt, ctx.stream);
          };
          ctx.check_written(run, po, n, dt, what);
          const double bytes = es * (2.0 * n + (rms ? 1 : 2) * cols);
          time_both(ctx,
                    {{"op", op}, {"backend", "foresight"}, {"dtype", "bf16"}, {"shape", {{"rows", rows}, {"cols", cols}}},
                     {"bytes", bytes}, {"flops", (rms ? 4.0 : 7.0) * n}},
                    run, what);
        });
      }
  }

  // Elementwise ops over n elements.
  std::vector<int64_t> sizes =
      quick ? std::vector<int64_t>{1 << 24} : std::vector<int64_t>{};
  // Every power of two from 256 Ki to 1 Gi elements: the L2-resident to HBM-bound transition
  // (60 MB of L2 on an H200) needs more than one point per factor of four to fit.
  if (!quick)
    for (int64_t n = 1 << 18; n <= (int64_t{1} << 30); n *= 2) sizes.push_back(n);
  for (const char* op : {"swiglu", "gelu", "add", "copy"}) {
    if (!ctx.wanted(op)) continue;
    const std::string name = op;
    for (int64_t n : sizes) {
      const std::string what = name + " n=" + std::to_string(n);
      if (ctx.skip_for_time(op)) continue;
      ctx.guarded(op, what, [&] {
        void* pa = x.get(n * 2, dt, ctx.stream, 45);
        void* pb = y.get(n * 2, dt, ctx.stream, 46);
        void* po = out.get(n * 2, dt, ctx.stream, 47);
        double bytes = 3.0 * es * n, flops = 0;
        std::function<void()> run;
        if (name == "swiglu") {
          run = [&] { kernels::swiglu(pa, pb, po, n, dt, ctx.stream); };
          flops = 6.0 * n;
        } else if (name == "gelu") {
          run = [&] { kernels::gelu(pa, po, n, dt, ctx.stream); };
          bytes = 2.0 * es * n;
          flops = 8.0 * n;
        } else if (name == "add") {
          run = [&] { kernels::add(pa, pb, po, n, dt, ctx.stream); };
          flops = 1.0 * n;
        } else {
          run = [&] { kernels::copy(pa, po, n * 2, ctx.stream); };
          bytes = 2.0 * es * n;  // read + write
        }
        ctx.check_written(run, po, n, dt, what);
        nlohmann::json m = {{"op", op}, {"backend", "foresight"}, {"dtype", "bf16"}, {"shape", {{"elements", n}}},
                            {"bytes", bytes}, {"flops", flops}};
        time_both(ctx, m, run, what);
        if (name == "copy") {
          // The driver's copy engine path, for comparison with published copy bandwidth.
          auto memcpy_run = [&] { FS_CUDA(cudaMemcpyAsync(po, pa, n * 2, cudaMemcpyDeviceToDevice, ctx.stream)); };
          m["backend"] = "cuda-memcpy";
          time_both(ctx, m, memcpy_run, "cudaMemcpy " + what);
        }
      });
    }
  }

  if (ctx.wanted("rope")) {
    for (int64_t tokens : quick ? std::vector<int64_t>{4096} : std::vector<int64_t>{1024, 4096, 16384})
      for (int heads : {32, 64}) {
        const int hd = 128;
        const std::string what = "rope t" + std::to_string(tokens) + " h" + std::to_string(heads);
        if (ctx.skip_for_time("rope")) continue;
        ctx.guarded("rope", what, [&] {
          const std::size_t n = static_cast<std::size_t>(tokens) * heads * hd;
          void* px = x.get(n * 2, dt, ctx.stream, 48);
          void* po = out.get(n * 2, dt, ctx.stream, 49);
          std::vector<int32_t> h_pos(tokens);
          for (int64_t t = 0; t < tokens; ++t) h_pos[t] = static_cast<int32_t>(t % 8192);
          auto* d_pos = static_cast<int32_t*>(pos.get(tokens * sizeof(int32_t), DType::f32, ctx.stream, 50));
          FS_CUDA(cudaMemcpyAsync(d_pos, h_pos.data(), tokens * sizeof(int32_t), cudaMemcpyHostToDevice, ctx.stream));
          FS_CUDA(cudaStreamSynchronize(ctx.stream));
          auto run = [&] { kernels::rope(px, po, d_pos, tokens, heads, hd, 10000.f, dt, ctx.stream); };
          ctx.check_written(run, po, n, dt, what);
          time_both(ctx,
                    {{"op", "rope"}, {"backend", "foresight"}, {"dtype", "bf16"},
                     {"shape", {{"tokens", tokens}, {"heads", heads}, {"head_dim", hd}}},
                     {"bytes", 2.0 * es * n + 4.0 * tokens}, {"flops", 3.0 * n}},
                    run, what);
        });
      }
  }

  // Recorded as "softmax_xent", the op name the fitter (calibrate/fit/raw.cpp) reads.
  if (ctx.wanted("softmax_xent")) {
    for (int64_t rows : quick ? std::vector<int64_t>{2048} : std::vector<int64_t>{2048, 8192})
      for (int64_t vocab : {32000, 128256}) {
        const std::string what = "softmax_xent " + std::to_string(rows) + "x" + std::to_string(vocab);
        if (ctx.skip_for_time("softmax_xent")) continue;
        ctx.guarded("softmax_xent", what, [&] {
          const std::size_t n = static_cast<std::size_t>(rows * vocab);
          void* px = x.get(n * 2, dt, ctx.stream, 51);
          void* pg = out.get(n * 2, dt, ctx.stream, 52);
          std::vector<int32_t> h_labels(rows);
          for (int64_t r = 0; r < rows; ++r) h_labels[r] = static_cast<int32_t>((r * 7919) % vocab);
          auto* d_labels = static_cast<int32_t*>(labels.get(rows * sizeof(int32_t), DType::f32, ctx.stream, 53));
          auto* d_loss = static_cast<float*>(loss.get(rows * sizeof(float), DType::f32, ctx.stream, 54));
          FS_CUDA(cudaMemcpyAsync(d_labels, h_labels.data(), rows * sizeof(int32_t), cudaMemcpyHostToDevice, ctx.stream));
          FS_CUDA(cudaStreamSynchronize(ctx.stream));
          auto run = [&] {
            kernels::softmax_cross_entropy(px, d_labels, d_loss, pg, rows, vocab, 1.f / rows, dt, ctx.stream);
          };
          ctx.check_written(run, pg, n, dt, what);
          time_both(ctx,
                    {{"op", "softmax_xent"}, {"backend", "foresight"}, {"dtype", "bf16"},
                     {"shape", {{"rows", rows}, {"vocab", vocab}, {"with_grad", true}}},
                     {"bytes", 2.0 * es * n}, {"flops", 5.0 * n}},
                    run, what);
        });
      }
  }
}

}  // namespace foresight::calibrate::detail
