// Attention kernels of our own: FlashAttention-2-style fused forward/backward and decode attention
// over a paged KV cache.
//
// Layouts (row-major, contiguous):
//   q, o, dq, dout : [batch, seq_q,  heads,    head_dim]   ("BSHD", as FlashAttention uses)
//   k, v, dk, dv   : [batch, seq_kv, kv_heads, head_dim]
//   lse            : [batch, heads, seq_q] float, natural-log log-sum-exp of the scaled scores
// GQA: query head h reads kv head h / (heads / kv_heads); kv_heads must divide heads.
// Causal masking is bottom-right aligned (FlashAttention-2 convention): query i sees key j iff
// j <= i + (seq_kv - seq_q). Rows that see no key produce 0 and lse = -inf.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "kernels/dtype.hpp"

namespace foresight::kernels {

struct AttentionParams {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* o = nullptr;
  float* lse = nullptr;
  int batch = 1, seq_q = 0, seq_kv = 0, heads = 1, kv_heads = 1, head_dim = 128;
  bool causal = false;
  float scale = 0.f;  // 0 means 1/sqrt(head_dim)
  DType dtype = DType::bf16;  // bf16 or f16
};

struct AttentionBackwardParams {
  AttentionParams fwd;  // q, k, v, o and lse from the forward pass
  const void* dout = nullptr;
  void* dq = nullptr;
  void* dk = nullptr;
  void* dv = nullptr;
  void* workspace = nullptr;  // attention_backward_workspace_bytes(fwd) bytes
};

// Throws KernelError on unsupported arguments (head_dim other than 64/128, dtype, GQA ratio).
void attention_forward(const AttentionParams& p, cudaStream_t stream);
std::size_t attention_backward_workspace_bytes(const AttentionParams& p);
void attention_backward(const AttentionBackwardParams& p, cudaStream_t stream);

// Forward FLOPs in the FlashAttention papers' convention (4*b*h*sq*skv*d, halved when causal);
// backward is 2.5x this.
double attention_forward_flops(const AttentionParams& p);

// Decode (one new query token per sequence) over a paged KV cache.
//   q, out      : [batch, heads, head_dim]
//   k/v_cache   : [num_pages, page_size, kv_heads, head_dim]
//   block_table : [batch, max_pages_per_seq] int32 page ids
//   context_lens: [batch] int32 number of cached tokens each sequence attends to
struct PagedDecodeParams {
  const void* q = nullptr;
  const void* k_cache = nullptr;
  const void* v_cache = nullptr;
  const int* block_table = nullptr;
  const int* context_lens = nullptr;
  void* out = nullptr;
  int batch = 1, heads = 1, kv_heads = 1, head_dim = 128, page_size = 16, max_pages_per_seq = 0;
  float scale = 0.f;  // 0 means 1/sqrt(head_dim)
  DType dtype = DType::bf16;
};

void paged_decode_attention(const PagedDecodeParams& p, cudaStream_t stream);

}  // namespace foresight::kernels
