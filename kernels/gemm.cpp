// cuBLASLt GEMM: descriptor setup, heuristic algorithm choice cached per shape, fp8 scaling.
#include "kernels/gemm.hpp"

#include <string>

#include "kernels/cuda_check.hpp"

namespace foresight::kernels {
namespace {

void lt_check(cublasStatus_t st, const char* what, const char* file, int line) {
  if (st != CUBLAS_STATUS_SUCCESS)
    throw KernelError(std::string(file) + ":" + std::to_string(line) + ": " + what + ": cuBLAS status " +
                      std::to_string(static_cast<int>(st)));
}
#define FS_LT(expr) lt_check((expr), #expr, __FILE__, __LINE__)

cudaDataType_t storage_type(DType t) {
  switch (t) {
    case DType::f32: case DType::tf32: return CUDA_R_32F;
    case DType::f16: return CUDA_R_16F;
    case DType::bf16: return CUDA_R_16BF;
    case DType::e4m3: return CUDA_R_8F_E4M3;
  }
  return CUDA_R_32F;
}

std::string shape_text(const GemmShape& s) {
  return std::string(dtype_name(s.dtype)) + " " + gemm_layout_name(s.layout) + " m=" + std::to_string(s.m) +
         " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) + " batch=" + std::to_string(s.batch);
}

}  // namespace

const char* gemm_layout_name(GemmLayout l) {
  switch (l) {
    case GemmLayout::NN: return "NN";
    case GemmLayout::NT: return "NT";
    case GemmLayout::TN: return "TN";
  }
  return "?";
}

GemmLayout parse_gemm_layout(const std::string& s) {
  if (s == "NN") return GemmLayout::NN;
  if (s == "NT") return GemmLayout::NT;
  if (s == "TN") return GemmLayout::TN;
  throw KernelError("unknown GEMM layout '" + s + "' (expected NN, NT or TN)");
}

DType gemm_output_dtype(DType in) {
  if (in == DType::e4m3) return DType::bf16;
  if (in == DType::tf32) return DType::f32;
  return in;
}

double gemm_flops(const GemmShape& s) {
  return 2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k) * s.batch;
}

double gemm_bytes(const GemmShape& s) {
  const double in = static_cast<double>(dtype_size(s.dtype));
  const double out = static_cast<double>(dtype_size(gemm_output_dtype(s.dtype)));
  return s.batch * (in * (static_cast<double>(s.m) * s.k + static_cast<double>(s.k) * s.n) +
                    out * static_cast<double>(s.m) * s.n);
}

struct LtGemm::Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

LtGemm::LtGemm(std::size_t workspace_bytes) : workspace_bytes_(workspace_bytes) {
  FS_LT(cublasLtCreate(&handle_));
  FS_CUDA(cudaMalloc(&workspace_, workspace_bytes_));
}

LtGemm::~LtGemm() {
  plans_.clear();
  if (workspace_) cudaFree(workspace_);
  if (handle_) cublasLtDestroy(handle_);
}

LtGemm::Plan& LtGemm::plan_for(const GemmShape& s) {
  auto it = plans_.find(s);
  if (it != plans_.end()) return *it->second;
  if (s.m <= 0 || s.n <= 0 || s.k <= 0 || s.batch <= 0) throw KernelError("gemm: non-positive dimension in " + shape_text(s));
  if (s.dtype == DType::e4m3) {
    if (s.layout != GemmLayout::NT)
      throw KernelError("gemm: fp8 e4m3 runs only with layout NT on Hopper cuBLASLt (" + shape_text(s) + ")");
  }

  auto plan = std::make_unique<Plan>();
  const cublasComputeType_t compute = s.dtype == DType::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  FS_LT(cublasLtMatmulDescCreate(&plan->op, compute, CUDA_R_32F));

  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS's "A" is our B.
  const bool bt = s.layout == GemmLayout::NT;  // our B is stored [n,k]
  const bool at = s.layout == GemmLayout::TN;  // our A is stored [k,m]
  const cublasOperation_t ta = bt ? CUBLAS_OP_T : CUBLAS_OP_N, tb = at ? CUBLAS_OP_T : CUBLAS_OP_N;
  FS_LT(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  FS_LT(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));

  const cudaDataType_t in_t = storage_type(s.dtype), out_t = storage_type(gemm_output_dtype(s.dtype));
  // cuBLAS A (= our B): rows x cols as stored, column-major.
  const uint64_t a_rows = bt ? s.k : s.n, a_cols = bt ? s.n : s.k;
  const uint64_t b_rows = at ? s.m : s.k, b_cols = at ? s.k : s.m;
  FS_LT(cublasLtMatrixLayoutCreate(&plan->a, in_t, a_rows, a_cols, static_cast<int64_t>(a_rows)));
  FS_LT(cublasLtMatrixLayoutCreate(&plan->b, in_t, b_rows, b_cols, static_cast<int64_t>(b_rows)));
  FS_LT(cublasLtMatrixLayoutCreate(&plan->c, out_t, s.n, s.m, s.n));
  if (s.batch > 1) {
    const int32_t count = static_cast<int32_t>(s.batch);
    const int64_t sa = s.k * s.n, sb = s.k * s.m, sc = s.m * s.n;
    for (auto [layout, stride] : {std::pair{plan->a, sa}, std::pair{plan->b, sb}, std::pair{plan->c, sc}}) {
      FS_LT(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
      FS_LT(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
    }
  }

  cublasLtMatmulPreference_t pref = nullptr;
  FS_LT(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t ws = workspace_bytes_;
  cublasLtMatmulHeuristicResult_t result{};
  int returned = 0;
  cublasStatus_t st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  if (st == CUBLAS_STATUS_SUCCESS)
    st = cublasLtMatmulAlgoGetHeuristic(handle_, plan->op, plan->a, plan->b, plan->c, plan->c, pref, 1, &result, &returned);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st != CUBLAS_STATUS_SUCCESS || returned == 0)
    throw UnsupportedError("gemm: cuBLASLt has no algorithm for " + shape_text(s) + " (status " +
                      std::to_string(static_cast<int>(st)) + ")");
  plan->algo = result.algo;
  auto& ref = *plan;
  plans_.emplace(s, std::move(plan));
  return ref;
}

void LtGemm::prepare(const GemmShape& s) { plan_for(s); }

void LtGemm::run(const GemmShape& s, const void* a, const void* b, void* c, cudaStream_t stream, const float* a_scale,
                 const float* b_scale, float alpha) {
  Plan& p = plan_for(s);
  if (s.dtype == DType::e4m3) {
    if (!a_scale || !b_scale) throw KernelError("gemm: fp8 needs device scale pointers for A and B");
    // Pointer attributes are part of the descriptor; set them per call because the plan is
    // shared between calls with different buffers. cuBLAS's A is our B.
    FS_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &b_scale, sizeof(b_scale)));
    FS_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &a_scale, sizeof(a_scale)));
  }
  const float beta = 0.f;
  FS_LT(cublasLtMatmul(handle_, p.op, &alpha, b, p.a, a, p.b, &beta, c, p.c, c, p.c, &p.algo, workspace_,
                       workspace_bytes_, stream));
}

std::string LtGemm::algo_description(const GemmShape& s) {
  Plan& p = plan_for(s);
  int id = -1, tile = -1, stages = -1, splitk = -1;
  size_t written = 0;
  cublasLtMatmulAlgoConfigGetAttribute(&p.algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof(id), &written);
  cublasLtMatmulAlgoConfigGetAttribute(&p.algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof(tile), &written);
  cublasLtMatmulAlgoConfigGetAttribute(&p.algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages, sizeof(stages), &written);
  cublasLtMatmulAlgoConfigGetAttribute(&p.algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, sizeof(splitk), &written);
  return "algo=" + std::to_string(id) + " tile=" + std::to_string(tile) + " stages=" + std::to_string(stages) +
         " splitk=" + std::to_string(splitk);
}

std::string cublaslt_version_string() {
  const size_t v = cublasLtGetVersion();
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

}  // namespace foresight::kernels
