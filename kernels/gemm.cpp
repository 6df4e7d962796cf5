// cuBLASLt GEMM: descriptor setup, heuristic algorithm choice cached per shape, fp8 scaling.
#include "kernels/gemm.hpp"

#include <cstdint>
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
  const float one = 1.f;
  FS_CUDA(cudaMalloc(&unit_scale_, sizeof(float)));
  FS_CUDA(cudaMemcpy(unit_scale_, &one, sizeof(float), cudaMemcpyHostToDevice));
}

LtGemm::~LtGemm() {
  plans_.clear();
  if (workspace_) cudaFree(workspace_);
  if (unit_scale_) cudaFree(unit_scale_);
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

  if (s.dtype == DType::e4m3) {
    // First GPU run (H200, cuBLASLt 13.1): an algorithm chosen for a descriptor without scale
    // pointers was refused at matmul time (status 15, NOT_SUPPORTED) once real pointers were set.
    // The heuristic must see the descriptor as it will run: scaled.
    FS_LT(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &unit_scale_, sizeof(unit_scale_)));
    FS_LT(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &unit_scale_, sizeof(unit_scale_)));
  }
  const std::vector<cublasLtMatmulAlgo_t> algos = heuristic(*plan, 1);
  if (algos.empty()) throw UnsupportedError("gemm: cuBLASLt has no algorithm for " + shape_text(s));
  plan->algo = algos.front();
  auto& ref = *plan;
  plans_.emplace(s, std::move(plan));
  return ref;
}

std::vector<cublasLtMatmulAlgo_t> LtGemm::heuristic(Plan& p, int max_algos) {
  cublasLtMatmulPreference_t pref = nullptr;
  FS_LT(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t ws = workspace_bytes_;
  std::vector<cublasLtMatmulHeuristicResult_t> results(static_cast<std::size_t>(max_algos));
  int returned = 0;
  cublasStatus_t st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  if (st == CUBLAS_STATUS_SUCCESS)
    st = cublasLtMatmulAlgoGetHeuristic(handle_, p.op, p.a, p.b, p.c, p.c, pref, max_algos, results.data(), &returned);
  cublasLtMatmulPreferenceDestroy(pref);
  std::vector<cublasLtMatmulAlgo_t> out;
  if (st != CUBLAS_STATUS_SUCCESS) return out;
  for (int i = 0; i < returned; ++i)
    if (results[static_cast<std::size_t>(i)].state == CUBLAS_STATUS_SUCCESS) out.push_back(results[static_cast<std::size_t>(i)].algo);
  return out;
}

void LtGemm::prepare(const GemmShape& s) { plan_for(s); }

void LtGemm::run(const GemmShape& s, const void* a, const void* b, void* c, cudaStream_t stream, const float* a_scale,
                 const float* b_scale, float alpha) {
  Plan& p = plan_for(s);
  if (s.dtype == DType::e4m3) {
    if (!a_scale || !b_scale) throw KernelError("gemm: fp8 needs device scale pointers for A and B");
    // Seen on an H200 with cuBLASLt 13.1: a scale pointer 4 bytes off a 16-byte boundary made
    // cublasLtMatmul refuse every algorithm (status 15, nothing in its log); 16-aligned ones run.
    if (reinterpret_cast<std::uintptr_t>(a_scale) % 16 || reinterpret_cast<std::uintptr_t>(b_scale) % 16)
      throw KernelError("gemm: fp8 scale pointers must be 16-byte aligned (cuBLASLt refuses others at run time)");
    // Pointer attributes are part of the descriptor; set them per call because the plan is
    // shared between calls with different buffers. cuBLAS's A is our B.
    FS_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &b_scale, sizeof(b_scale)));
    FS_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &a_scale, sizeof(a_scale)));
  }
  const float beta = 0.f;
  // fp8 passes C = nullptr (beta is 0, so C is never read): the configuration that ran on the H200.
  // The refusals of its first runs came from the misaligned scale pointer checked above.
  const void* c_in = s.dtype == DType::e4m3 ? nullptr : c;
  const cublasStatus_t st = cublasLtMatmul(handle_, p.op, &alpha, b, p.a, a, p.b, &beta, c_in, p.c, c, p.c, &p.algo,
                                           workspace_, workspace_bytes_, stream);
  if (st == CUBLAS_STATUS_NOT_SUPPORTED)
    throw UnsupportedError("gemm: cuBLASLt refused its own algorithm at run time for " + shape_text(s));
  FS_LT(st);
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
