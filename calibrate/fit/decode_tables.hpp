#pragma once
// Decode attention kept as measured grids rather than one efficiency curve: a paged decode kernel
// is bound by how many (sequence, head) blocks it can spread over the SMs as much as by the bytes it
// reads (our reference kernel on an H200: 18 GB/s at batch 1 with GQA 64/8, 2.8 TB/s at batch 256
// MHA), which a bytes roofline cannot follow (120 % held-out error there).
#include "calibrate/fit/raw.hpp"
#include "hwmodels/profile.hpp"

namespace foresight::calibrate {

// One table per (backend, dtype, heads, kv_heads, head_dim) over (batch, context length), from
// the raw file's cache-cold decode_attention points; grids with fewer than two values on an axis
// are skipped. Each table's held-out error is computed as the importer's are.
void add_decode_tables(const RawFile& raw, hw::Profile& prof);

}  // namespace foresight::calibrate
