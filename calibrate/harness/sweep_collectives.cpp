// NCCL collective sweep over all local GPUs: every op over 1 KiB..8 GiB with NCCL's own choice of
// algorithm and protocol, and all_reduce with each algorithm/protocol forced, so the fitter can
// fit alpha + bytes/beta per (op, ranks, algorithm, protocol).
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "calibrate/harness/harness_internal.hpp"
#include "kernels/collectives.hpp"
#include "kernels/cuda_check.hpp"

namespace foresight::calibrate::detail {
namespace {

using kernels::CollOp;
using kernels::DType;

// Collective timing needs every rank's stream, so it cannot use Context::time; the discipline is
// the same: one untimed run, warm-up, then the median of per-iteration event timings (slowest
// rank each iteration), with fewer repeats for long operations.
Timing time_collective(Context& ctx, kernels::NcclGroup& g, CollOp op, std::size_t bytes) {
  const double first = std::max(g.time_once(op, bytes, DType::bf16), 1e-7);
  const double budget = ctx.opts.quick ? 0.05 : 0.15;
  const int warm = std::clamp(static_cast<int>(0.05 / first), 0, std::max(0, ctx.opts.warmup - 1));
  for (int i = 0; i < warm; ++i) g.time_once(op, bytes, DType::bf16);
  const int repeats = std::clamp(static_cast<int>(budget / first), std::min(3, ctx.opts.repeats), std::max(1, ctx.opts.repeats));
  Timing t;
  for (int i = 0; i < repeats; ++i) t.samples_s.push_back(g.time_once(op, bytes, DType::bf16));
  std::vector<double> s = t.samples_s;
  std::sort(s.begin(), s.end());
  t.median_s = s.size() % 2 ? s[s.size() / 2] : 0.5 * (s[s.size() / 2 - 1] + s[s.size() / 2]);
  return t;
}

void run_ops(Context& ctx, kernels::NcclGroup& g, const std::vector<CollOp>& ops, const std::vector<std::size_t>& sizes,
             const std::string& algo, const std::string& proto) {
  const std::size_t n = static_cast<std::size_t>(g.ranks());
  for (CollOp op : ops) {
    const std::string name = kernels::coll_op_name(op);
    if (!ctx.wanted(name)) continue;
    for (std::size_t req : sizes) {
      // Round down to what the op can split evenly over ranks (bf16 elements).
      const std::size_t bytes = req / (2 * n) * (2 * n);
      if (bytes == 0 || bytes > g.capacity()) continue;
      if (ctx.skip_for_time(name)) continue;
      const std::string what = name + " " + std::to_string(bytes) + "B " + algo + "/" + proto;
      ctx.guarded(name, what, [&] {
        const Timing t = time_collective(ctx, g, op, bytes);
        ctx.record({{"op", name},
                    {"backend", "nccl"},
                    {"dtype", "bf16"},
                    {"shape", {{"bytes", bytes}, {"ranks", g.ranks()}}},
                    {"algorithm", algo},
                    {"protocol", proto},
                    {"bytes", bytes},
                    {"cache", "cold"}},
                   t);
      });
    }
    std::cerr << "  " << name << " " << algo << "/" << proto << " done\n";
  }
}

}  // namespace

void sweep_collectives(Context& ctx) {
  const std::vector<CollOp> all_ops = {CollOp::all_reduce, CollOp::all_gather, CollOp::reduce_scatter,
                                       CollOp::all_to_all, CollOp::send_recv};
  bool any = false;
  for (CollOp op : all_ops) any = any || ctx.wanted(kernels::coll_op_name(op));
  if (!any) return;
  int ndev = 0;
  FS_CUDA(cudaGetDeviceCount(&ndev));
  if (ndev < 2) {
    std::cerr << "  one GPU only: collectives need at least 2 ranks, skipped\n";
    return;
  }
  // Sizes 1 KiB .. 8 GiB in steps of 4x, capped by free memory (send + recv per GPU).
  const std::size_t max_auto = ctx.opts.quick ? (64u << 20) : (std::size_t{8} << 30);
  const std::size_t cap = std::min(max_auto, kernels::NcclGroup::max_bytes_for_memory(ndev, 0.8));
  std::vector<std::size_t> sizes;
  for (std::size_t s = 1024; s <= cap; s *= 4) sizes.push_back(s);
  if (!ctx.opts.quick && sizes.back() < cap && cap == max_auto) sizes.push_back(cap);

  ctx.guarded("collectives", "auto", [&] {
    kernels::NcclGroup g(ndev, "auto", "auto");
    g.reserve(sizes.back());
    run_ops(ctx, g, all_ops, sizes, "auto", "auto");
  });
  if (ctx.opts.quick || !ctx.wanted("all_reduce")) return;

  // Forced algorithm/protocol for all_reduce, up to 1 GiB: each combination needs its own
  // communicators because NCCL reads NCCL_ALGO/NCCL_PROTO at init. A combination NCCL rejects
  // for this topology is recorded as a failure and the sweep goes on.
  std::vector<std::size_t> forced_sizes;
  for (std::size_t s : sizes)
    if (s <= (std::size_t{1} << 30)) forced_sizes.push_back(s);
  for (const char* algo : {"Ring", "Tree"})
    for (const char* proto : {"LL", "LL128", "Simple"}) {
      if (ctx.skip_for_time("all_reduce")) continue;
      ctx.guarded("all_reduce", std::string("init ") + algo + "/" + proto, [&] {
        kernels::NcclGroup g(ndev, algo, proto);
        g.reserve(forced_sizes.back());
        run_ops(ctx, g, {CollOp::all_reduce}, forced_sizes, algo, proto);
      });
    }
}

}  // namespace foresight::calibrate::detail
