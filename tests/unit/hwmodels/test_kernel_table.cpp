// Measured kernel tables: interpolation, the measured region, and answering cost queries from them.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "hwmodels/catalog/catalog.hpp"
#include "hwmodels/cost/calibrated_cost_model.hpp"
#include "hwmodels/cost/table_lookup.hpp"
#include "hwmodels/kernel_table.hpp"
#include "hwmodels/profile.hpp"

using namespace foresight;
using nlohmann::json;

namespace {

// A GEMM table following t = a * m^0.5 * n * k (a power law is exactly linear in log-log space, so
// multilinear interpolation there must reproduce it anywhere inside the grid).
double law(double m, double n, double k) { return 1e-12 * std::sqrt(m) * n * k; }

hw::KernelTable gemm_table(const std::string& dtype = "bf16") {
  hw::KernelTable t;
  t.op = "gemm", t.family = "test", t.dtype = dtype;
  t.axes = {"m", "n", "k"};
  t.values = {{1, 16, 256, 4096}, {1024, 4096, 16384}, {1024, 8192}};
  for (double m : t.values[0])
    for (double n : t.values[1])
      for (double k : t.values[2]) t.seconds.push_back(law(m, n, k));
  return t;
}

// Causal self-attention measured over (batch, sequence): t = c * batch * s^2.
hw::KernelTable attention_table() {
  hw::KernelTable t;
  t.op = "attention", t.family = "test", t.dtype = "bf16", t.kv_dtype = "bf16";
  t.keys = {{"heads", 8}, {"kv_heads", 1}, {"head_dim", 128}};
  t.axes = {"batch", "sequence"};
  t.values = {{1, 2, 4}, {512, 1024, 2048, 4096}};
  for (double b : t.values[0])
    for (double s : t.values[1]) t.seconds.push_back(1e-12 * b * s * s);
  return t;
}

// Decode: t = c * batch * context (bandwidth bound).
hw::KernelTable decode_table() {
  hw::KernelTable t;
  t.op = "decode_attention", t.family = "test", t.dtype = "bf16", t.kv_dtype = "bf16";
  t.keys = {{"heads", 8}, {"kv_heads", 1}, {"head_dim", 128}};
  t.axes = {"batch", "context"};
  t.values = {{1, 8, 64}, {128, 1024, 8192}};
  for (double b : t.values[0])
    for (double c : t.values[1]) t.seconds.push_back(1e-9 * b * c);
  return t;
}

hw::Profile table_profile() {
  hw::Profile p;
  p.name = "tables";
  p.tables = {gemm_table(), attention_table(), decode_table()};
  return p;
}

std::string load_error(const json& j) {
  try {
    hw::profile_from_json(j, "p.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("table interpolation reproduces a power law between grid points", "[hwmodels][table]") {
  const hw::KernelTable t = gemm_table();
  for (auto [m, n, k] : {std::tuple{3.0, 2000.0, 3000.0}, {100.0, 9000.0, 1024.0}, {4096.0, 16384.0, 8192.0}}) {
    bool outside = true;
    const auto s = t.lookup({m, n, k}, &outside);
    REQUIRE(s);
    CHECK(*s == Approx(law(m, n, k)).epsilon(1e-9));
    CHECK_FALSE(outside);
  }
  // Held out with its grid lines removed, an interior cell of a power law is still predicted exactly.
  const hw::HeldOutError e = hw::table_held_out_error(t);
  CHECK(e.points == 0);  // k has two values, so no cell is interior along it
  hw::KernelTable a = attention_table();
  const hw::HeldOutError ea = hw::table_held_out_error(a);
  CHECK(ea.points == 1 * 2);     // batch 2 x sequences 1024 and 2048
  CHECK(ea.mape == Approx(0).margin(1e-9));
}

TEST_CASE("a missing cell's weight goes to the measured corners; a query on it alone has no answer",
          "[hwmodels][table]") {
  hw::KernelTable t = attention_table();
  t.seconds[1 * 4 + 1] = std::nan("");  // batch 2, sequence 1024 not measured
  CHECK_FALSE(t.lookup({2, 1024}));
  const auto between = t.lookup({2, 1448});  // between 1024 (missing) and 2048 along sequence
  REQUIRE(between);
  CHECK(*between == Approx(1e-12 * 2 * 2048.0 * 2048.0).epsilon(1e-9));
}

TEST_CASE("queries past the measured grid are flagged and scaled by their work", "[hwmodels][table]") {
  const hw::Profile prof = table_profile();
  const hw::TableChooser p(prof);
  hw::GemmQuery q{8192, 4096, 1024, 1, "bf16"};  // m twice the largest measured
  auto a = hw::table_gemm(p, q);
  REQUIRE(a);
  CHECK(a->outside);
  CHECK(a->seconds == Approx(2 * law(4096, 4096, 1024)));
  q.m = 256;
  a = hw::table_gemm(p, q);
  CHECK_FALSE(a->outside);
  CHECK(a->seconds == Approx(law(256, 4096, 1024)));
  q.m = 256, q.batch = 3;
  CHECK(hw::table_gemm(p, q)->seconds == Approx(3 * law(256, 4096, 1024)));
  q.dtype = "fp16";  // fp16 shares bf16's kernels
  CHECK(hw::table_gemm(p, q));
  q.dtype = "fp8";   // not measured: no table answer
  CHECK_FALSE(hw::table_gemm(p, q));

  // Attention: a sequence past the grid grows as its square; a chunk after context is the whole
  // context's kernel scaled by the FLOP ratio.
  hw::AttentionQuery att;
  att.batch = 1, att.seq_q = att.seq_kv = 8192, att.heads = 8, att.kv_heads = 1, att.head_dim = 128;
  auto aa = hw::table_attention(p, att);
  REQUIRE(aa);
  CHECK(aa->outside);
  CHECK(aa->seconds == Approx(1e-12 * 8192.0 * 8192.0));
  att.seq_q = 512, att.seq_kv = 2048;
  aa = hw::table_attention(p, att);
  const double full = 1e-12 * 2048.0 * 2048.0;
  CHECK_FALSE(aa->outside);
  CHECK(aa->seconds == Approx(full * (512.0 * (2048 - 256)) / (0.5 * 2048.0 * 2048.0)));
  att.heads = 16;  // other head counts: nearest table, flagged
  aa = hw::table_attention(p, att);
  CHECK(aa->outside);
  CHECK(aa->seconds == Approx(2 * full * (512.0 * (2048 - 256)) / (0.5 * 2048.0 * 2048.0)));

  // Decode: the batch at its mean context.
  std::vector<int64_t> ctx{512, 1536};
  hw::DecodeAttentionQuery d;
  d.heads = 8, d.kv_heads = 1, d.head_dim = 128, d.context = ctx.data(), d.sequences = ctx.size();
  auto da = hw::table_decode_attention(p, d);
  REQUIRE(da);
  CHECK_FALSE(da->outside);
  CHECK(da->seconds == Approx(1e-9 * 2 * 1024).epsilon(1e-9));
}

TEST_CASE("the calibrated cost model answers from tables, then the roofline, and counts both",
          "[hwmodels][table]") {
  const hw::GpuSpec& gpu = hw::Catalog::builtin().gpu("h100-sxm-80gb");
  hw::CalibratedCostModel m(table_profile(), gpu);
  hw::Estimate e = m.gemm({256, 4096, 1024, 1, "bf16"});
  CHECK(e.source == "profile:tables");
  CHECK_FALSE(e.extrapolated);
  CHECK(e.seconds == Approx(law(256, 4096, 1024)));
  e = m.gemm({256, 4096, 1024, 1, "tf32"});  // no tf32 table
  CHECK(e.source == "roofline");
  CHECK(e.extrapolated);
  hw::AttentionQuery att;
  att.batch = 2, att.seq_q = att.seq_kv = 1024, att.heads = 8, att.kv_heads = 1, att.head_dim = 128;
  const double fwd = m.attention(att).seconds;
  att.backward = true;
  e = m.attention(att);
  CHECK(e.extrapolated);  // backward is priced from the measured forward
  CHECK(e.seconds == Approx(2.5 * fwd));
  CHECK(m.memory_op({"rmsnorm", 1e9, 0}).source == "roofline");
  const hw::CostUsage u = m.usage();
  CHECK(u.table == 2);
  CHECK(u.table_outside == 1);
  CHECK(u.roofline == 2);
}

TEST_CASE("profiles with tables round-trip through a gzip file at 4 significant digits", "[hwmodels][table]") {
  hw::Profile p = table_profile();
  p.tables[0].seconds[5] = std::nan("");
  p.tables[0].held_out = hw::table_held_out_error(p.tables[0]);
  const auto path = std::filesystem::temp_directory_path() / "foresight-test-profile.json.gz";
  hw::save_profile(p, path.string());
  const hw::Profile r = hw::load_profile(path.string());
  std::filesystem::remove(path);
  REQUIRE(r.tables.size() == 3);
  const auto& a = p.tables[0];
  const auto& b = r.tables[0];
  CHECK(b.axes == a.axes);
  CHECK(b.values == a.values);
  REQUIRE(b.seconds.size() == a.seconds.size());
  for (size_t i = 0; i < a.seconds.size(); ++i) {
    if (std::isnan(a.seconds[i])) {
      CHECK(std::isnan(b.seconds[i]));
    } else {
      CHECK(b.seconds[i] == Approx(a.seconds[i]).epsilon(5e-4));  // 4 significant digits
    }
  }
  CHECK(r.tables[1].keys == p.tables[1].keys);
  CHECK(r.find_table("attention", "bf16", "bf16", {{"heads", 8}}) == &r.tables[1]);
  CHECK(r.find_table("attention", "fp8") == nullptr);
}

TEST_CASE("bad tables are located by key path", "[hwmodels][table]") {
  json j = hw::profile_to_json(table_profile());
  json bad = j;
  bad["tables"][0]["latency_ms"].erase(0);
  CHECK(load_error(bad).find("'tables[0].latency_ms': has 23 cells; the axes make 24") != std::string::npos);
  bad = j;
  bad["tables"][1]["values"][1][2] = 10;
  CHECK(load_error(bad).find("'tables[1].values[1][2]': axis values must increase") != std::string::npos);
  bad = j;
  bad["tables"][2]["latency_ms"][3] = -1;
  CHECK(load_error(bad).find("'tables[2].latency_ms[3]': a latency must be a positive number") != std::string::npos);
  bad = j;
  bad["tables"][0]["op"] = "conv";
  CHECK(load_error(bad).find("'tables[0].op'") != std::string::npos);
}
