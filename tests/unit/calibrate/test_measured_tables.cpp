// Importing measured tables (foresight-tables/1) into a profile.
#include <catch2/catch.hpp>

#include "calibrate/import/measured_tables.hpp"
#include "core/error.hpp"

using namespace foresight;
using nlohmann::json;

namespace {

json doc() {
  json gemm{{"op", "gemm"}, {"family", "vllm"}, {"dtype", "bf16"}, {"axes", {"m", "n", "k"}},
            {"values", {{1, 2, 4}, {8, 16, 32}, {8, 16, 32}}}, {"latency_ms", json::array()}};
  for (int m : {1, 2, 4})
    for (int n : {8, 16, 32})
      for (int k : {8, 16, 32}) gemm["latency_ms"].push_back(1e-3 * m * n * k);
  // Points on the line t = 20 us + bytes / 200 GB/s.
  json pts = json::array();
  for (double b = 1024; b <= 1 << 30; b *= 4) pts.push_back({b, 20e-6 + b / 200e9});
  return {{"schema", "foresight-tables/1"},
          {"provenance", {{"system", "h100_sxm"}, {"framework", "vllm"}}},
          {"tables", {gemm}},
          {"collectives", {{{"op", "all_reduce"}, {"ranks", 8}, {"algorithm", "auto"}, {"points", pts}}}}};
}

std::string import_error(const json& j) {
  try {
    calibrate::import_tables(j, "t.json", {});
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("imported tables keep their grid, collectives get their alpha-beta line back", "[calibrate][tables]") {
  calibrate::TablesImportOptions opt;
  opt.gpu = "h100-sxm-80gb";
  const hw::Profile p = calibrate::import_tables(doc(), "t.json", opt);
  CHECK(p.name == "h100_sxm-vllm");
  CHECK(p.provenance["gpu"] == "h100-sxm-80gb");
  REQUIRE(p.tables.size() == 1);
  CHECK(p.tables[0].seconds.back() == Approx(4 * 32 * 32 * 1e-6));
  // m*n*k is a power law: the interior cell is predicted exactly from its neighbours.
  CHECK(p.tables[0].held_out.points == 1);
  CHECK(p.tables[0].held_out.mape == Approx(0).margin(1e-9));
  REQUIRE(p.collectives.size() == 1);
  CHECK(p.collectives[0].alpha_s == Approx(20e-6).epsilon(1e-6));
  CHECK(p.collectives[0].beta_Bps == Approx(200e9).epsilon(1e-6));
  CHECK(calibrate::tables_error_table(p).find("gemm bf16") != std::string::npos);
}

TEST_CASE("bad table files are located by key path", "[calibrate][tables]") {
  json j = doc();
  j["schema"] = "foresight-tables/2";
  CHECK(import_error(j).find("schema") != std::string::npos);
  j = doc();
  j["collectives"][0]["points"][1] = {1024, -1};
  CHECK(import_error(j).find("'collectives[0].points[1]': expected [bytes, seconds], both positive") != std::string::npos);
  j = doc();
  j["collectives"][0]["ranks"] = 1;
  CHECK(import_error(j).find("'collectives[0].ranks': a collective needs at least 2 ranks") != std::string::npos);
  j = doc();
  j["tables"][0]["latency_ms"][4] = "fast";
  CHECK(import_error(j).find("'tables[0].latency_ms[4]'") != std::string::npos);
  j = doc();
  j["tables"] = json::array();
  j["collectives"] = json::array();
  CHECK(import_error(j).find("no tables and no collectives") != std::string::npos);
  j = doc();
  j["extra"] = 1;
  CHECK(import_error(j).find("'extra': unknown key") != std::string::npos);
}
