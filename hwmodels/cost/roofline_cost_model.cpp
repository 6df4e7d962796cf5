#include "hwmodels/cost/roofline_cost_model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "core/dtype.hpp"

namespace foresight::hw {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

bool mentions(const GpuSpec& g, const char* word) {
  return lower(g.architecture).find(word) != std::string::npos || lower(g.id).find(word) != std::string::npos;
}

// Bytes per element for GEMM operands, used for the memory side of the GEMM roofline.
double dtype_bytes(const std::string& dtype) {
  if (dtype == "fp8") return 1.0;
  if (dtype == "fp32" || dtype == "tf32") return 4.0;
  return 2.0;
}

}  // namespace

// Sources:
//  GEMM: "Maximum Achievable Matmul FLOPS" table, S. Bekman, ml-engineering (github.com/stas00/
//    ml-engineering, compute/accelerator): best-shape BF16 cuBLAS matmul reaches 267.9 of 312
//    TFLOP/s on A100 SXM (0.86) and 794.5 of 989 on H100 SXM (0.80).
//  Attention: FlashAttention-2 (Dao 2023, arXiv:2307.08691) reaches 50-73 % of A100 peak forward,
//    we take the midpoint 0.6; FlashAttention-3 (Shah et al. 2024, arXiv:2407.08608) reaches up to
//    75 % of H100 BF16 peak forward and less backward, we take 0.6 as well.
//  Memory: STREAM-style triad from the Azure AI-benchmarking-guide: 1.70 of 2.039 TB/s on A100
//    (0.83), 2.97 of 3.35 TB/s on H100 (0.89).
//  FP8 GEMM: the largest measured FP8 GEMM (8192^3, per-tensor scaled) in NVIDIA AIConfigurator's
//    database (aiconfigurator-core 0.12, TensorRT-LLM and vLLM kernels) runs at 1243-1317 of 1979
//    TFLOP/s on H100/H200 (0.63-0.67, we take 0.65) and 2335-2408 of 4500-5000 on B200/GB200 (0.52).
//  Launch overhead: ~2 us per kernel launch on the critical path when the GPU is not kept busy by a
//    queue (NVIDIA Developer Blog, "Getting Started with CUDA Graphs", A. Gray, 2019).
RooflineEfficiency default_efficiency(const GpuSpec& g) {
  RooflineEfficiency e;
  e.launch_overhead_s = 2e-6;
  if (mentions(g, "ampere") || mentions(g, "a100")) {
    e.gemm = 0.86, e.attention = 0.6, e.memory = 0.83;
    e.source = "A100: matmul 0.86 (ml-engineering MAMF), attention 0.6 (FlashAttention-2), HBM 0.83 (Azure STREAM)";
  } else if (mentions(g, "hopper") || mentions(g, "h100") || mentions(g, "h200") || mentions(g, "h800")) {
    e.gemm = 0.80, e.gemm_fp8 = 0.65, e.attention = 0.6, e.memory = 0.89;
    e.source = "Hopper: matmul 0.80 (ml-engineering MAMF), FP8 matmul 0.65 (AIConfigurator's measured 8192^3), "
               "attention 0.6 (FlashAttention-3), HBM 0.89 (Azure STREAM)";
  } else if (mentions(g, "blackwell") || mentions(g, "b200")) {
    e.gemm = 0.80, e.gemm_fp8 = 0.52, e.attention = 0.6, e.memory = 0.85;
    e.source = "Blackwell: FP8 matmul 0.52 (AIConfigurator's measured 8192^3); no published BF16, attention or "
               "HBM fraction at hand: Hopper-like 0.80, 0.6, 0.85 assumed";
  } else {
    // No published measurement at hand for this generation: Hopper's fractions as a stated guess.
    e.gemm = 0.80, e.attention = 0.6, e.memory = 0.85;
    e.source = "no published efficiency for " + g.id + ": Hopper-like fractions assumed";
  }
  return e;
}

RooflineCostModel::RooflineCostModel(GpuSpec gpu) : gpu_(std::move(gpu)), eff_(default_efficiency(gpu_)) {}
RooflineCostModel::RooflineCostModel(GpuSpec gpu, RooflineEfficiency eff) : gpu_(std::move(gpu)), eff_(std::move(eff)) {}

double RooflineCostModel::peak(const std::string& dtype) const {
  auto it = gpu_.dense_flops.find(dtype);
  if (it != gpu_.dense_flops.end() && it->second > 0) return it->second;
  // fp16 and bf16 share tensor-core rates on every NVIDIA generation in the catalog.
  if (dtype == "fp16") return peak("bf16");
  if (dtype == "bf16" && gpu_.dense_flops.count("fp16")) return gpu_.dense_flops.at("fp16");
  return gpu_.peak_flops(dtype);  // throws the catalog's InputError for unsupported dtypes
}

double RooflineCostModel::roofline(double flops, double peak_rate, double efficiency, double bytes) const {
  const double t_compute = flops / (peak_rate * efficiency);
  const double t_memory = bytes / (gpu_.memory_bandwidth * eff_.memory);
  return std::max(t_compute, t_memory) + eff_.launch_overhead_s;
}

// Tile and wave quantization (NVIDIA Deep Learning Performance Guide, "Matrix Multiplication
// Background", sections on tile and wave quantization): cuBLAS computes the output in CTA tiles
// (256x128 for large 16-bit GEMMs on Ampere/Hopper) scheduled in waves of one tile per SM, so a GEMM
// costs as many full waves as it needs, even when the last wave is partly empty. The achievable
// efficiency above is measured at shapes without such losses. Short problems (decode batches of a
// few sequences) get shorter tiles: the smallest of 64, 128 or 256 rows that covers m (64 is the
// M of one Hopper warpgroup MMA, wgmma.m64nNk16), so a one-token GEMM is not charged 256 rows.
// How the last wave is scheduled depends on the library generation:
//  - fewer tiles than SMs: cuBLAS splits the reduction (split-K) so that the GPU fills, each split
//    at least kMinSplitK deep, and adds the partial sums (fp32, written and read once per split);
//  - several waves on Hopper and Blackwell: CUTLASS/cuBLAS stream-K (Osama et al., PPoPP 2023,
//    arXiv:2301.03598) spreads the remaining MAC iterations over all SMs, so the tail costs its
//    work rather than a whole wave; Ampere's kernels quantize to whole waves.
namespace {
constexpr double kMinSplitK = 256;  // a split shorter than 4 k-tiles of 64 would not hide its load latency
}

RooflineCostModel::Quantized RooflineCostModel::quantized(const GemmQuery& q) const {
  Quantized out{gemm_flops(q), 0.0};
  if (gpu_.sm_count <= 0) return out;
  const double sms = gpu_.sm_count;
  const double tile_m = q.m <= 64 ? 64 : q.m <= 128 ? 128 : 256, tile_n = 128;
  const double tiles = double(q.batch) * std::ceil(double(q.m) / tile_m) * std::ceil(double(q.n) / tile_n);
  const double tile_flops = 2.0 * tile_m * tile_n * double(q.k);
  if (tiles < sms) {
    const double splits = std::max(1.0, std::min(std::floor(sms / tiles), std::floor(double(q.k) / kMinSplitK)));
    out.flops = sms * tile_flops / splits;  // one wave, each SM running one split of one tile
    if (splits > 1) out.extra_bytes = 2.0 * splits * double(q.batch) * double(q.m) * double(q.n) * 4.0;
    return out;
  }
  const bool stream_k = mentions(gpu_, "hopper") || mentions(gpu_, "h100") || mentions(gpu_, "h200") ||
                        mentions(gpu_, "blackwell") || mentions(gpu_, "b200") || mentions(gpu_, "gb200");
  out.flops = (stream_k ? tiles : std::ceil(tiles / sms) * sms) * tile_flops;
  return out;
}

Estimate RooflineCostModel::gemm(const GemmQuery& q) const {
  const double eb = dtype_bytes(q.dtype);
  const double bytes = double(q.batch) * (double(q.m) * q.k * eb + double(q.k) * q.n * eb + double(q.m) * q.n * 2.0);
  const Quantized z = quantized(q);
  const bool fp8 = canonical_dtype(q.dtype).rfind("fp8", 0) == 0;
  return {roofline(z.flops, peak(q.dtype), fp8 ? eff_.gemm_fp8 : eff_.gemm, bytes + z.extra_bytes), "roofline", false};
}

Estimate RooflineCostModel::attention(const AttentionQuery& q) const {
  // Fused attention streams Q, K, V, O (and dO, dQ, dK, dV backward) once through HBM.
  const double qo = double(q.batch) * q.seq_q * q.heads * q.head_dim * 2.0;
  const double kv = double(q.batch) * q.seq_kv * q.kv_heads * q.head_dim * 2.0;
  const double bytes = (q.backward ? 2.0 : 1.0) * (2 * qo + 2 * kv);
  return {roofline(attention_flops(q), peak(q.dtype), eff_.attention, bytes), "roofline", false};
}

Estimate RooflineCostModel::decode_attention(const DecodeAttentionQuery& q) const {
  double tokens = 0;
  for (size_t i = 0; i < q.sequences; ++i) tokens += double(q.context[i]);
  const double kv = 2.0 * tokens * double(q.kv_heads) * double(q.head_dim) * dtype_size(q.kv_dtype);
  const double qo = 2.0 * double(q.sequences) * double(q.heads) * double(q.head_dim) * dtype_size(q.dtype);
  return {roofline(decode_attention_flops(q), peak(q.dtype), eff_.attention, kv + qo), "roofline", false};
}

Estimate RooflineCostModel::memory_op(const MemoryOpQuery& q) const {
  const double fp32_vector_rate = gpu_.dense_flops.count("fp32") ? gpu_.dense_flops.at("fp32") : peak("bf16") / 16.0;
  return {roofline(q.flops, fp32_vector_rate, 1.0, q.bytes), "roofline", false};
}

std::string RooflineCostModel::provenance() const {
  return fmt::format("roofline on {} (datasheet peaks; {})", gpu_.id, eff_.source);
}

}  // namespace foresight::hw
