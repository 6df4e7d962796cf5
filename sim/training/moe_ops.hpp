#pragma once
// The feed-forward block of a mixture-of-experts layer, for one rank and microbatch: router, token
// permutation, dispatch all-to-all over the expert-parallel group, the shared experts (overlapping
// the dispatch, as DeepSeek-V3 and Megatron-core schedule them), the routed experts as grouped GEMMs,
// and the combine all-to-all. Routed items are marked (WorkItem::Routed) and timed per microbatch
// and layer from the drawn expert loads.
#include "sim/training/work_builder.hpp"

namespace foresight::sim {

void moe_ffn_forward(Builder& B, const TrainingSpec& s, const Shape& x);
void moe_ffn_backward(Builder& B, const TrainingSpec& s, const Shape& x);

// Bytes one token occupies in the forward dispatch: fp8 with one fp32 scale per 128 values when
// training in fp8 with DeepEP (DeepSeek-V3 report sec. 3.3.2), else 16 bit.
double dispatch_token_bytes(const TrainingSpec& s);

}  // namespace foresight::sim
