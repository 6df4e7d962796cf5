// cuDNN fused SDPA forward through the backend graph API.
//
// The graph is the one cuDNN's fused flash-attention engines recognise (and that cudnn-frontend
// emits for sdpa with stats):
//   S = Q K^T -> S * scale -> [causal: select(row >= col, S, lowest)] -> softmax with stats
//   (max, sub, exp, sum, log, add -> Stats; div -> P) -> O = P V
// Intermediate tensors are virtual (fp32, except P, which enters the second matmul in the storage
// type), so cuDNN fuses the whole chain into one kernel.
#include "kernels/cudnn_sdpa.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cuda_check.hpp"

#ifdef FORESIGHT_HAVE_CUDNN
#include <cudnn.h>
#endif

namespace foresight::kernels {

#ifdef FORESIGHT_HAVE_CUDNN
namespace {

void dnn_check(cudnnStatus_t st, const char* what, const char* file, int line) {
  if (st == CUDNN_STATUS_SUCCESS) return;
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof(detail));
  throw KernelError(std::string(file) + ":" + std::to_string(line) + ": " + what + ": " + cudnnGetErrorString(st) +
                    (detail[0] ? std::string(" (") + detail + ")" : std::string()));
}
#define FS_DNN(expr) dnn_check((expr), #expr, __FILE__, __LINE__)

// Owning backend descriptor.
class Desc {
 public:
  explicit Desc(cudnnBackendDescriptorType_t type) { FS_DNN(cudnnBackendCreateDescriptor(type, &d_)); }
  ~Desc() {
    if (d_) cudnnBackendDestroyDescriptor(d_);
  }
  Desc(const Desc&) = delete;
  Desc& operator=(const Desc&) = delete;
  cudnnBackendDescriptor_t get() const { return d_; }
  template <typename T>
  Desc& set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, const T* values, int64_t count = 1) {
    FS_DNN(cudnnBackendSetAttribute(d_, name, type, count, values));
    return *this;
  }
  Desc& set_desc(cudnnBackendAttributeName_t name, const Desc& other) {
    cudnnBackendDescriptor_t o = other.get();
    return set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, &o);
  }
  void finalize() { FS_DNN(cudnnBackendFinalize(d_)); }

 private:
  cudnnBackendDescriptor_t d_ = nullptr;
};
using DescPtr = std::unique_ptr<Desc>;

cudnnDataType_t dnn_type(DType t) {
  if (t == DType::bf16) return CUDNN_DATA_BFLOAT16;
  if (t == DType::f16) return CUDNN_DATA_HALF;
  throw KernelError(std::string("cudnn-sdpa: dtype must be bf16 or fp16, got ") + dtype_name(t));
}

}  // namespace

struct CudnnSdpa::Plan {
  std::vector<DescPtr> keep;  // every descriptor the plan was built from stays alive with it
  DescPtr plan;
  int64_t workspace = 0;
};

namespace {

enum Uid : int64_t { kQ = 1, kK, kV, kO, kStats, kScale, kLowest, kVirtual = 100 };

struct GraphBuilder {
  std::vector<DescPtr>& keep;
  std::vector<cudnnBackendDescriptor_t> ops;
  int64_t next_virtual = kVirtual;

  Desc& tensor(int64_t uid, cudnnDataType_t type, std::vector<int64_t> dims, std::vector<int64_t> strides,
               bool is_virtual, bool by_value = false) {
    auto d = std::make_unique<Desc>(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    const int64_t align = 16;
    d->set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, &type)
        .set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, dims.data(), static_cast<int64_t>(dims.size()))
        .set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, strides.data(), static_cast<int64_t>(strides.size()))
        .set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, &uid)
        .set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, &align)
        .set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, &is_virtual);
    if (by_value) d->set(CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, &by_value);
    d->finalize();
    keep.push_back(std::move(d));
    return *keep.back();
  }
  Desc& virt(cudnnDataType_t type, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides) {
    return tensor(next_virtual++, type, dims, strides, true);
  }
  void add_op(DescPtr op) {
    op->finalize();
    ops.push_back(op->get());
    keep.push_back(std::move(op));
  }
  void matmul(const Desc& a, const Desc& b, const Desc& c) {
    auto mm = std::make_unique<Desc>(CUDNN_BACKEND_MATMUL_DESCRIPTOR);
    const cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    mm->set(CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, &comp).finalize();
    auto op = std::make_unique<Desc>(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
    op->set_desc(CUDNN_ATTR_OPERATION_MATMUL_ADESC, a)
        .set_desc(CUDNN_ATTR_OPERATION_MATMUL_BDESC, b)
        .set_desc(CUDNN_ATTR_OPERATION_MATMUL_CDESC, c)
        .set_desc(CUDNN_ATTR_OPERATION_MATMUL_DESC, *mm);
    keep.push_back(std::move(mm));
    add_op(std::move(op));
  }
  // y = mode(x [, b] [, t]); axis is used by GEN_INDEX only.
  void pointwise(cudnnPointwiseMode_t mode, cudnnDataType_t prec, const Desc& x, const Desc* b, const Desc& y,
                 const Desc* t = nullptr, int64_t axis = -1) {
    auto pw = std::make_unique<Desc>(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    pw->set(CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, &mode)
        .set(CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, &prec);
    if (axis >= 0) pw->set(CUDNN_ATTR_POINTWISE_AXIS, CUDNN_TYPE_INT64, &axis);
    pw->finalize();
    auto op = std::make_unique<Desc>(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    op->set_desc(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, *pw).set_desc(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x);
    if (b) op->set_desc(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, *b);
    if (t) op->set_desc(CUDNN_ATTR_OPERATION_POINTWISE_TDESC, *t);
    op->set_desc(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y);
    keep.push_back(std::move(pw));
    add_op(std::move(op));
  }
  void reduction(cudnnReduceTensorOp_t mode, const Desc& x, const Desc& y) {
    auto rd = std::make_unique<Desc>(CUDNN_BACKEND_REDUCTION_DESCRIPTOR);
    const cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    rd->set(CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, &mode)
        .set(CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, &comp)
        .finalize();
    auto op = std::make_unique<Desc>(CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR);
    op->set_desc(CUDNN_ATTR_OPERATION_REDUCTION_XDESC, x)
        .set_desc(CUDNN_ATTR_OPERATION_REDUCTION_YDESC, y)
        .set_desc(CUDNN_ATTR_OPERATION_REDUCTION_DESC, *rd);
    keep.push_back(std::move(rd));
    add_op(std::move(op));
  }
};

}  // namespace

CudnnSdpa::CudnnSdpa() {
  cudnnHandle_t h = nullptr;
  FS_DNN(cudnnCreate(&h));
  handle_ = h;
}

CudnnSdpa::~CudnnSdpa() {
  plans_.clear();
  if (workspace_) cudaFree(workspace_);
  if (handle_) cudnnDestroy(static_cast<cudnnHandle_t>(handle_));
}

bool CudnnSdpa::built_with_cudnn() { return true; }

std::string CudnnSdpa::version_string() {
  const size_t v = cudnnGetVersion();  // cuDNN 9: major*10000 + minor*100 + patch
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

CudnnSdpa::Plan& CudnnSdpa::plan_for(const AttentionParams& p) {
  const float scale = p.scale != 0.f ? p.scale : 1.f / std::sqrt(static_cast<float>(p.head_dim));
  const Key key{p.batch, p.seq_q, p.seq_kv, p.heads, p.kv_heads, p.head_dim, p.causal, static_cast<int>(p.dtype), scale};
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;
  if (p.kv_heads <= 0 || p.heads % p.kv_heads) throw KernelError("cudnn-sdpa: kv_heads must divide heads");
  if (p.causal && p.seq_q != p.seq_kv) throw UnsupportedError("cudnn-sdpa: causal masking needs seq_q == seq_kv here");

  auto plan = std::make_unique<Plan>();
  std::string diag;
  GraphBuilder g{plan->keep, {}};
  const int64_t b = p.batch, h = p.heads, hk = p.kv_heads, sq = p.seq_q, sk = p.seq_kv, d = p.head_dim;
  const cudnnDataType_t io = dnn_type(p.dtype), f32 = CUDNN_DATA_FLOAT;
  // Logical [batch, heads, seq, dim] views of the BSHD buffers.
  Desc& q = g.tensor(kQ, io, {b, h, sq, d}, {sq * h * d, d, h * d, 1}, false);
  Desc& kt = g.tensor(kK, io, {b, hk, d, sk}, {sk * hk * d, d, 1, hk * d}, false);  // K^T
  Desc& v = g.tensor(kV, io, {b, hk, sk, d}, {sk * hk * d, d, hk * d, 1}, false);
  Desc& o = g.tensor(kO, io, {b, h, sq, d}, {sq * h * d, d, h * d, 1}, false);
  Desc& stats = g.tensor(kStats, f32, {b, h, sq, 1}, {h * sq, sq, 1, 1}, false);
  Desc& scale_t = g.tensor(kScale, f32, {1, 1, 1, 1}, {1, 1, 1, 1}, false, true);
  const std::vector<int64_t> s_dims{b, h, sq, sk}, s_str{h * sq * sk, sq * sk, sk, 1};
  const std::vector<int64_t> r_dims{b, h, sq, 1}, r_str{h * sq, sq, 1, 1};

  Desc& s = g.virt(f32, s_dims, s_str);
  g.matmul(q, kt, s);
  Desc& s_scaled = g.virt(f32, s_dims, s_str);
  g.pointwise(CUDNN_POINTWISE_MUL, f32, s, &scale_t, s_scaled);
  Desc* logits = &s_scaled;
  if (p.causal) {
    Desc& lowest = g.tensor(kLowest, f32, {1, 1, 1, 1}, {1, 1, 1, 1}, false, true);
    // Row and column indices as fp32, as cuDNN 8.9-era fused-attention graphs build them and as the
    // graph that ran on the H200 has them.
    Desc& row = g.virt(f32, s_dims, s_str);
    Desc& col = g.virt(f32, s_dims, s_str);
    Desc& keep_mask = g.virt(CUDNN_DATA_BOOLEAN, s_dims, s_str);
    Desc& masked = g.virt(f32, s_dims, s_str);
    g.pointwise(CUDNN_POINTWISE_GEN_INDEX, f32, s_scaled, nullptr, row, nullptr, 2);
    g.pointwise(CUDNN_POINTWISE_GEN_INDEX, f32, s_scaled, nullptr, col, nullptr, 3);
    g.pointwise(CUDNN_POINTWISE_CMP_GE, CUDNN_DATA_BOOLEAN, row, &col, keep_mask);
    // y = mask ? x : b
    g.pointwise(CUDNN_POINTWISE_BINARY_SELECT, f32, s_scaled, &lowest, masked, &keep_mask);
    logits = &masked;
  }
  Desc& mx = g.virt(f32, r_dims, r_str);
  g.reduction(CUDNN_REDUCE_TENSOR_MAX, *logits, mx);
  Desc& centered = g.virt(f32, s_dims, s_str);
  g.pointwise(CUDNN_POINTWISE_SUB, f32, *logits, &mx, centered);
  Desc& ex = g.virt(f32, s_dims, s_str);
  g.pointwise(CUDNN_POINTWISE_EXP, f32, centered, nullptr, ex);
  Desc& sum = g.virt(f32, r_dims, r_str);
  g.reduction(CUDNN_REDUCE_TENSOR_ADD, ex, sum);
  Desc& log_sum = g.virt(f32, r_dims, r_str);
  g.pointwise(CUDNN_POINTWISE_LOG, f32, sum, nullptr, log_sum);
  g.pointwise(CUDNN_POINTWISE_ADD, f32, mx, &log_sum, stats);
  // P enters the second matmul in the storage type of V: cuDNN 9.19's flash engines require both
  // matmul operands of one type (its log on the first H200 run: "A and B need to have the same
  // datatype"), and fp32 I/O only on Ampere.
  Desc& prob = g.virt(io, s_dims, s_str);
  g.pointwise(CUDNN_POINTWISE_DIV, f32, ex, &sum, prob);
  g.matmul(prob, v, o);

  auto graph = std::make_unique<Desc>(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  cudnnHandle_t handle = static_cast<cudnnHandle_t>(handle_);
  graph->set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, g.ops.data(), static_cast<int64_t>(g.ops.size()))
      .set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, &handle)
      .finalize();

  // Heuristic mode A first (it gave the plan on the H200, cuDNN 9.19), then the fallback list; when
  // neither finalises, the message says what each mode offered (how the first graph was debugged).
  for (const cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    if (plan->plan) break;
    auto heur = std::make_unique<Desc>(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    heur->set_desc(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, *graph).set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, &mode);
    const std::string mode_name = mode == CUDNN_HEUR_MODE_A ? "mode A" : "fallback";
    try {
      heur->finalize();
    } catch (const KernelError& e) {
      diag += "; " + mode_name + ": " + e.what();
      continue;
    }
    int64_t n_cfg = 0;
    FS_DNN(cudnnBackendGetAttribute(heur->get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n_cfg,
                                    nullptr));
    std::vector<DescPtr> cfgs;
    std::vector<cudnnBackendDescriptor_t> raw_cfgs;
    for (int64_t i = 0; i < n_cfg; ++i) {
      cfgs.push_back(std::make_unique<Desc>(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR));
      raw_cfgs.push_back(cfgs.back()->get());
    }
    int64_t got = 0;
    if (n_cfg > 0)
      FS_DNN(cudnnBackendGetAttribute(heur->get(), CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, n_cfg,
                                      &got, raw_cfgs.data()));
    diag += "; " + mode_name + ": " + std::to_string(got) + " of " + std::to_string(n_cfg) + " configurations";
    // Take the first configuration, in heuristic order, that finalises into a plan.
    for (int64_t i = 0; i < got && !plan->plan; ++i) {
      try {
        auto ep = std::make_unique<Desc>(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
        ep->set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, &handle)
            .set_desc(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, *cfgs[static_cast<std::size_t>(i)]);
        ep->finalize();
        plan->plan = std::move(ep);
      } catch (const KernelError& e) {
        if (i == 0) diag += std::string(" (first refused: ") + e.what() + ")";
      }
    }
    for (auto& c : cfgs) plan->keep.push_back(std::move(c));
    plan->keep.push_back(std::move(heur));
  }
  plan->keep.push_back(std::move(graph));
  if (!plan->plan) throw UnsupportedError("cudnn-sdpa: no engine configuration finalised" + diag);
  int64_t ws_count = 0;
  FS_DNN(cudnnBackendGetAttribute(plan->plan->get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1,
                                  &ws_count, &plan->workspace));
  auto& ref = *plan;
  plans_.emplace(key, std::move(plan));
  return ref;
}

void CudnnSdpa::forward(const AttentionParams& p, cudaStream_t stream) {
  if (!p.q || !p.k || !p.v || !p.o || !p.lse) throw KernelError("cudnn-sdpa: q, k, v, o and lse are required");
  Plan& plan = plan_for(p);
  if (static_cast<std::size_t>(plan.workspace) > workspace_bytes_) {
    if (workspace_) FS_CUDA(cudaFree(workspace_));
    workspace_ = nullptr;
    workspace_bytes_ = 0;
    FS_CUDA(cudaMalloc(&workspace_, static_cast<std::size_t>(plan.workspace)));
    workspace_bytes_ = static_cast<std::size_t>(plan.workspace);
  }
  FS_DNN(cudnnSetStream(static_cast<cudnnHandle_t>(handle_), stream));
  // By-value scalars are read from host memory when the variant pack is executed.
  float scale = p.scale != 0.f ? p.scale : 1.f / std::sqrt(static_cast<float>(p.head_dim));
  float lowest = std::numeric_limits<float>::lowest();
  std::vector<int64_t> uids = {kQ, kK, kV, kO, kStats, kScale};
  std::vector<void*> ptrs = {const_cast<void*>(p.q), const_cast<void*>(p.k), const_cast<void*>(p.v), p.o, p.lse, &scale};
  if (p.causal) {
    uids.push_back(kLowest);
    ptrs.push_back(&lowest);
  }
  Desc pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  void* ws = workspace_;
  pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, uids.data(), static_cast<int64_t>(uids.size()))
      .set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, ptrs.data(), static_cast<int64_t>(ptrs.size()))
      .set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, &ws);
  pack.finalize();
  FS_DNN(cudnnBackendExecute(static_cast<cudnnHandle_t>(handle_), plan.plan->get(), pack.get()));
}

#else  // built without cuDNN: the backend reports itself unavailable instead of pretending

struct CudnnSdpa::Plan {};
CudnnSdpa::CudnnSdpa() { throw UnsupportedError("cudnn-sdpa: foresight was built without cuDNN"); }
CudnnSdpa::~CudnnSdpa() = default;
bool CudnnSdpa::built_with_cudnn() { return false; }
std::string CudnnSdpa::version_string() { return "not linked"; }
CudnnSdpa::Plan& CudnnSdpa::plan_for(const AttentionParams&) { throw KernelError("cudnn-sdpa: built without cuDNN"); }
void CudnnSdpa::forward(const AttentionParams&, cudaStream_t) { throw KernelError("cudnn-sdpa: built without cuDNN"); }

#endif

}  // namespace foresight::kernels
