// libFuzzer target for profile JSON (our harness's profiles and imported measured tables): any
// document must load or raise InputError naming the key path; a loaded profile must answer a GEMM,
// an attention and a collective query with finite, non-negative times.
//   ./build-fuzz/tests/fuzz/profile_fuzz tests/fuzz/profile-corpus -max_total_time=600
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "hwmodels/cost/calibrated_collectives.hpp"
#include "hwmodels/cost/calibrated_cost_model.hpp"
#include "hwmodels/profile.hpp"

using namespace foresight;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto doc = nlohmann::json::parse(data, data + size, nullptr, false);
  if (doc.is_discarded()) return 0;  // not JSON: the file reader reports it with line and column
  try {
    const hw::Profile p = hw::profile_from_json(doc, "fuzz.json");
    hw::CalibratedCostModel cost(p, 989e12, 3.35e12);
    const double g = cost.gemm({4096, 4096, 4096, 1, "bf16"}).seconds;
    hw::AttentionQuery a;
    a.batch = 1, a.seq_q = a.seq_kv = 2048, a.heads = 8, a.kv_heads = 8, a.head_dim = 128;
    const double at = cost.attention(a).seconds;
    if (!(g >= 0) || !(at >= 0)) std::abort();  // a profile that loads must not produce NaN or negative times
    hw::CalibratedCollectives coll(p);
    if (auto t = coll.time("all_reduce", 8, 1 << 20); t && !(t->seconds >= 0)) std::abort();
  } catch (const InputError&) {
  }
  return 0;
}
