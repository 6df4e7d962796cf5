// Attention sweeps: our FlashAttention-2-style kernel (prefill, forward and backward) over batch,
// heads, GQA, head dims and sequence lengths 512..16k, the FlashAttention-3 comparison shape, and
// paged decode attention over batch and context length.
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "calibrate/harness/harness_internal.hpp"
#include "kernels/attention.hpp"
#include "kernels/cudnn_sdpa.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/memory_ops.hpp"

namespace foresight::calibrate::detail {
namespace {

using kernels::DType;

struct AttnCase {
  int batch, seq, heads, kv_heads, head_dim;
  bool causal;
  DType dtype;
  bool backward;
  std::string source;
};

std::vector<AttnCase> build_cases(bool quick) {
  std::vector<AttnCase> cases;
  // validation/attention_h100.csv: FlashAttention-3, fp16, batch 4, seqlen 8448, 16 heads, d 128.
  // First, so that it survives a section running out of time.
  cases.push_back({4, 8448, 16, 16, 128, false, DType::f16, false, "validation:attention_h100"});
  if (!quick) cases.push_back({4, 8448, 16, 16, 128, false, DType::f16, true, "validation:attention_h100"});
  // Fixed token budget per point (batch * seq = 8k forward, 4k backward, or batch 1 beyond) keeps each point's cost
  // proportional to seq, so long sequences do not dominate the sweep.
  const std::vector<int> seqs = quick ? std::vector<int>{1024, 4096} : std::vector<int>{512, 1024, 2048, 4096, 8192, 16384};
  struct Heads {
    int heads, kv_heads, head_dim;
  };
  const std::vector<Heads> head_cfgs = quick ? std::vector<Heads>{{32, 8, 128}}
                                             : std::vector<Heads>{{32, 32, 128}, {32, 8, 128}, {32, 32, 64}, {16, 16, 128}};
  for (int seq : seqs)
    for (const Heads& h : head_cfgs)
      for (bool causal : {false, true})
        for (bool bwd : {false, true}) {
          // The SIMT backward is several times slower than the forward: half the tokens, seq <= 8k.
          if (bwd && seq > 8192) continue;
          const int tokens = bwd ? 4096 : 8192;
          cases.push_back({std::max(1, tokens / seq), seq, h.heads, h.kv_heads, h.head_dim, causal, DType::bf16, bwd, "grid"});
        }
  // Spread order after the validation cases: a budget-cut sweep keeps every sequence length.
  spread_order(cases, quick ? 1 : 2);
  return cases;
}

nlohmann::json attention_record(const AttnCase& c, const char* backend, double flops, double bytes) {
  return {{"op", "attention"},
          {"backend", backend},
          {"direction", c.backward ? "backward" : "forward"},
          {"dtype", kernels::dtype_name(c.dtype)},
          {"shape",
           {{"batch", c.batch}, {"seq_q", c.seq}, {"seq_kv", c.seq}, {"heads", c.heads}, {"kv_heads", c.kv_heads},
            {"head_dim", c.head_dim}, {"causal", c.causal}}},
          {"flops", flops},
          {"bytes", bytes},
          {"cache", "cold"},
          {"source", c.source}};
}

// cuDNN's fused SDPA on the same inputs. A build without cuDNN or a graph cuDNN declines is
// recorded as unsupported (UnsupportedError); wrong or unwritten output from a plan that did
// build is an error.
void time_cudnn_sdpa(Context& ctx, std::unique_ptr<kernels::CudnnSdpa>& sdpa, bool& unavailable,
                     const kernels::AttentionParams& p, const AttnCase& c, const std::string& what, double bytes) {
  if (unavailable) return;
  ctx.guarded("attention", "cudnn-sdpa " + what, [&] {
    if (!sdpa) {
      unavailable = true;  // until construction succeeds: one report, not one per case
      sdpa = std::make_unique<kernels::CudnnSdpa>();
      unavailable = false;
    }
    const std::size_t q_elems = static_cast<std::size_t>(c.batch) * c.seq * c.heads * c.head_dim;
    ctx.check_written([&] { sdpa->forward(p, ctx.stream); }, p.o, q_elems, c.dtype, "cudnn-sdpa " + what);
    const Timing t = ctx.time([&] { sdpa->forward(p, ctx.stream); }, true);
    const double flops = kernels::attention_forward_flops(p);
    ctx.record(attention_record(c, "cudnn-sdpa", flops, bytes), t);
    std::cerr << "  attention cudnn-sdpa " << what << ": " << flops / t.median_s * 1e-12 << " TFLOP/s\n";
  });
}

}  // namespace

void sweep_attention(Context& ctx) {
  if (!ctx.wanted("attention")) return;
  DeviceBuffer q, k, v, o, lse, dout, dq, dk, dv, ws;
  std::unique_ptr<kernels::CudnnSdpa> sdpa;
  bool sdpa_unavailable = false;
  for (const AttnCase& c : build_cases(ctx.opts.quick)) {
    if (ctx.skip_for_time("attention")) continue;
    const std::string what = std::string(c.backward ? "bwd " : "fwd ") + kernels::dtype_name(c.dtype) + " b" +
                             std::to_string(c.batch) + " s" + std::to_string(c.seq) + " h" + std::to_string(c.heads) +
                             "/" + std::to_string(c.kv_heads) + " d" + std::to_string(c.head_dim) +
                             (c.causal ? " causal" : "");
    ctx.guarded("attention", what, [&] {
      kernels::AttentionParams p;
      p.batch = c.batch;
      p.seq_q = p.seq_kv = c.seq;
      p.heads = c.heads;
      p.kv_heads = c.kv_heads;
      p.head_dim = c.head_dim;
      p.causal = c.causal;
      p.dtype = c.dtype;
      const std::size_t es = kernels::dtype_size(c.dtype);
      const std::size_t q_elems = static_cast<std::size_t>(c.batch) * c.seq * c.heads * c.head_dim;
      const std::size_t kv_elems = static_cast<std::size_t>(c.batch) * c.seq * c.kv_heads * c.head_dim;
      const std::size_t lse_elems = static_cast<std::size_t>(c.batch) * c.heads * c.seq;
      p.q = q.get(q_elems * es, c.dtype, ctx.stream, 21);
      p.k = k.get(kv_elems * es, c.dtype, ctx.stream, 22);
      p.v = v.get(kv_elems * es, c.dtype, ctx.stream, 23);
      p.o = o.get(q_elems * es, c.dtype, ctx.stream, 24);
      p.lse = static_cast<float*>(lse.get(lse_elems * sizeof(float), DType::f32, ctx.stream, 25));
      // bf16 and fp16 buffers are shared; refill so every input holds valid values of this dtype.
      kernels::fill_random(const_cast<void*>(p.q), static_cast<int64_t>(q_elems), c.dtype, 21, 1.f, ctx.stream);
      kernels::fill_random(const_cast<void*>(p.k), static_cast<int64_t>(kv_elems), c.dtype, 22, 1.f, ctx.stream);
      kernels::fill_random(const_cast<void*>(p.v), static_cast<int64_t>(kv_elems), c.dtype, 23, 1.f, ctx.stream);
      auto fwd = [&] { kernels::attention_forward(p, ctx.stream); };
      ctx.check_written(fwd, p.o, q_elems, c.dtype, "attention forward " + what);

      Timing t;
      double flops = kernels::attention_forward_flops(p);
      if (!c.backward) {
        t = ctx.time(fwd, true);
      } else {
        kernels::AttentionBackwardParams bp;
        bp.fwd = p;
        bp.dout = dout.get(q_elems * es, c.dtype, ctx.stream, 26);
        kernels::fill_random(const_cast<void*>(bp.dout), static_cast<int64_t>(q_elems), c.dtype, 26, 1.f, ctx.stream);
        bp.dq = dq.get(q_elems * es, c.dtype, ctx.stream, 27);
        bp.dk = dk.get(kv_elems * es, c.dtype, ctx.stream, 28);
        bp.dv = dv.get(kv_elems * es, c.dtype, ctx.stream, 29);
        bp.workspace = ws.get(kernels::attention_backward_workspace_bytes(p), DType::f32, ctx.stream, 30);
        auto bwd = [&] { kernels::attention_backward(bp, ctx.stream); };
        ctx.check_written(bwd, bp.dk, kv_elems, c.dtype, "attention backward (dk) " + what);
        ctx.check_written(bwd, bp.dq, q_elems, c.dtype, "attention backward (dq) " + what);
        t = ctx.time(bwd, true);
        flops *= 2.5;  // FlashAttention papers' convention
      }
      const double bytes = static_cast<double>(es) * (c.backward ? 2.0 * (2 * q_elems + 2 * kv_elems) : 2.0 * q_elems + 2.0 * kv_elems);
      ctx.record(attention_record(c, "foresight-fa2", flops, bytes), t);
      std::cerr << "  attention " << what << ": " << flops / t.median_s * 1e-12 << " TFLOP/s\n";
      // Its own guarded scope inside: a cuDNN failure never discards our kernel's measurement.
      if (!c.backward) time_cudnn_sdpa(ctx, sdpa, sdpa_unavailable, p, c, what, bytes);
    });
  }
}

void sweep_decode_attention(Context& ctx) {
  if (!ctx.wanted("decode_attention")) return;
  constexpr int kPage = 16;
  DeviceBuffer q, kc, vc, out, table, lens;
  struct Cfg {
    int heads, kv_heads, head_dim;
    long long max_tokens;  // batch * context cap: bounds the KV cache to a few GiB
  };
  const std::vector<Cfg> cfgs = {{64, 8, 128, 1 << 21}, {32, 32, 128, 1 << 19}};
  const std::vector<int> batches =
      ctx.opts.quick ? std::vector<int>{1, 32} : std::vector<int>{1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  const std::vector<int> contexts = ctx.opts.quick ? std::vector<int>{1024}
                                                   : std::vector<int>{256, 512, 1024, 2048, 4096, 8192, 16384, 32768};
  for (const Cfg& cfg : cfgs)
    for (int batch : batches)
      for (int context : contexts) {
        if (static_cast<long long>(batch) * context > cfg.max_tokens) continue;
        if (ctx.skip_for_time("decode_attention")) continue;
        // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on the equivalent operator+ chain.
        std::string what = "b";
        what += std::to_string(batch);
        what += " ctx";
        what += std::to_string(context);
        what += " h";
        what += std::to_string(cfg.heads);
        what += "/";
        what += std::to_string(cfg.kv_heads);
        ctx.guarded("decode_attention", what, [&] {
          const int pages_per_seq = (context + kPage - 1) / kPage;
          const std::size_t n_pages = static_cast<std::size_t>(batch) * pages_per_seq;
          const std::size_t es = 2;
          const std::size_t kv_elems = n_pages * kPage * cfg.kv_heads * cfg.head_dim;
          const std::size_t q_elems = static_cast<std::size_t>(batch) * cfg.heads * cfg.head_dim;
          kernels::PagedDecodeParams p;
          p.batch = batch;
          p.heads = cfg.heads;
          p.kv_heads = cfg.kv_heads;
          p.head_dim = cfg.head_dim;
          p.page_size = kPage;
          p.max_pages_per_seq = pages_per_seq;
          p.dtype = DType::bf16;
          p.q = q.get(q_elems * es, DType::bf16, ctx.stream, 31);
          p.k_cache = kc.get(kv_elems * es, DType::bf16, ctx.stream, 32);
          p.v_cache = vc.get(kv_elems * es, DType::bf16, ctx.stream, 33);
          p.out = out.get(q_elems * es, DType::bf16, ctx.stream, 34);
          // Pages handed out in a strided order, as an allocator serving many sequences would,
          // so the kernel's gathers are not accidentally sequential.
          std::vector<int> h_table(n_pages);
          for (std::size_t i = 0; i < n_pages; ++i) h_table[i] = static_cast<int>((i * 7919) % n_pages);
          std::vector<int> h_lens(batch, context);
          int* d_table = static_cast<int*>(table.get(n_pages * sizeof(int), DType::f32, ctx.stream, 35));
          int* d_lens = static_cast<int*>(lens.get(batch * sizeof(int), DType::f32, ctx.stream, 36));
          FS_CUDA(cudaMemcpyAsync(d_table, h_table.data(), n_pages * sizeof(int), cudaMemcpyHostToDevice, ctx.stream));
          FS_CUDA(cudaMemcpyAsync(d_lens, h_lens.data(), batch * sizeof(int), cudaMemcpyHostToDevice, ctx.stream));
          FS_CUDA(cudaStreamSynchronize(ctx.stream));  // host vectors die at the end of this scope
          p.block_table = d_table;
          p.context_lens = d_lens;
          auto run = [&] { kernels::paged_decode_attention(p, ctx.stream); };
          ctx.check_written(run, p.out, q_elems, DType::bf16, "decode attention " + what);
          const Timing t = ctx.time(run, true);
          const double kv_bytes = 2.0 * batch * context * cfg.kv_heads * cfg.head_dim * es;
          ctx.record({{"op", "decode_attention"},
                      {"backend", "foresight-paged"},
                      {"dtype", "bf16"},
                      {"shape",
                       {{"batch", batch}, {"heads", cfg.heads}, {"kv_heads", cfg.kv_heads}, {"head_dim", cfg.head_dim},
                        {"context_len", context}, {"page_size", kPage}}},
                      {"bytes", kv_bytes + 2.0 * q_elems * es},
                      {"flops", 4.0 * batch * cfg.heads * static_cast<double>(context) * cfg.head_dim},
                      {"cache", "cold"}},
                     t);
        });
      }
}

}  // namespace foresight::calibrate::detail
