#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "calibrate/fit/fitter.hpp"
#include "hwmodels/cost/calibrated_cost_model.hpp"
#include "hwmodels/profile.hpp"
#include "core/error.hpp"
#include "synthetic.hpp"

using namespace foresight;
using nlohmann::json;

namespace {

hw::Profile small_profile() {
  test::SyntheticGpu gpu;
  calibrate::FitOptions opt;
  opt.name = "roundtrip";
  return calibrate::fit_profile(calibrate::raw_from_json(test::synthetic_raw(gpu, 5, 40), "raw.json"), opt);
}

// The error message of loading `j` as a profile named "p.json".
std::string profile_error(const json& j) {
  try {
    hw::profile_from_json(j, "p.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string raw_error(const json& j) {
  try {
    calibrate::raw_from_json(j, "raw.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("foresight-test-calibrate-" + name)).string();
}

}  // namespace

TEST_CASE("profile JSON round trip preserves every field", "[calibrate][profile]") {
  const hw::Profile p = small_profile();
  const json j = hw::profile_to_json(p);
  CHECK(j["schema"] == "foresight-profile/1");
  const hw::Profile q = hw::profile_from_json(j, "mem.json");
  CHECK(hw::profile_to_json(q) == j);
  CHECK(q.compute.size() == p.compute.size());
  CHECK(q.collectives.at(0).table == p.collectives.at(0).table);

  const std::string path = temp_path("roundtrip.json");
  hw::save_profile(p, path);
  const hw::Profile r = hw::load_profile(path);
  std::remove(path.c_str());
  CHECK(hw::profile_to_json(r) == j);
  // A model built from the loaded profile answers exactly like one built from the original.
  hw::CalibratedCostModel a(p, 989e12, 3.35e12), b(r, 989e12, 3.35e12);
  CHECK(a.gemm({1024, 2048, 4096, 1, "bf16"}).seconds == b.gemm({1024, 2048, 4096, 1, "bf16"}).seconds);
  CHECK(a.provenance().find("Synthetic H100") != std::string::npos);
}

TEST_CASE("profile loader rejects other and newer schema versions", "[calibrate][profile]") {
  json j = hw::profile_to_json(small_profile());
  j["schema"] = "foresight-profile/2";
  const std::string newer = profile_error(j);
  CHECK(newer.find("p.json") != std::string::npos);
  CHECK(newer.find("'schema'") != std::string::npos);
  CHECK(newer.find("unsupported schema version") != std::string::npos);
  j["schema"] = "foresight-raw/1";
  CHECK(profile_error(j).find("expected \"foresight-profile/1\"") != std::string::npos);
  j["schema"] = "foresight-profile/x";
  CHECK(profile_error(j).find("malformed schema version") != std::string::npos);
  j.erase("schema");
  CHECK(profile_error(j).find("'schema': missing required key") != std::string::npos);
}

TEST_CASE("malformed profiles name the JSON key path", "[calibrate][profile]") {
  const json good = hw::profile_to_json(small_profile());
  auto broken = [&](auto edit) {
    json j = good;
    edit(j);
    const std::string msg = profile_error(j);
    CHECK(msg.find('\n') == std::string::npos);  // one line
    return msg;
  };
  CHECK(broken([](json& j) { j["compute"][0]["knots"][1] = "x"; })
            .find("'compute[0].knots[1]': expected an array of two numbers") != std::string::npos);
  CHECK(broken([](json& j) { j["collectives"][0].erase("beta_Bps"); })
            .find("'collectives[0].beta_Bps': missing required key") != std::string::npos);
  CHECK(broken([](json& j) { j["collectives"][0]["beta_Bps"] = -1; })
            .find("'collectives[0].beta_Bps': expected a positive number") != std::string::npos);
  CHECK(broken([](json& j) { j["compute"][1]["tiel"] = 128; }).find("'compute[1].tiel': unknown key") != std::string::npos);
  CHECK(broken([](json& j) { j["compute"][0]["knots"] = json::array({{1.0, 0.0}, {0.5, 0.0}}); })
            .find("'compute[0].knots[1]': knot abscissae must be strictly increasing") != std::string::npos);
  CHECK(broken([](json& j) { j["fit"]["folds"] = 2.5; }).find("'fit.folds'") != std::string::npos);
  CHECK(broken([](json& j) { j["compute"] = json::object(); }).find("'compute': expected an array") != std::string::npos);
  CHECK(broken([](json& j) { j["held_out"]["gemm"]["mape"] = "low"; }).find("'held_out.gemm.mape'") != std::string::npos);
  CHECK(broken([](json& j) { j["compute"][0]["held_out"].erase("inside_mape"); })
            .find("'compute[0].held_out.inside_mape': missing required key") != std::string::npos);
}

TEST_CASE("malformed JSON text is reported with file, line and column", "[calibrate][profile]") {
  const std::string path = temp_path("bad.json");
  {
    std::ofstream out(path);
    out << "{\n  \"schema\": \"foresight-profile/1\",\n  \"name\": oops\n}\n";
  }
  std::string msg;
  try {
    hw::load_profile(path);
  } catch (const InputError& e) {
    msg = e.what();
  }
  std::remove(path.c_str());
  CHECK(msg.find(path + ":3:") != std::string::npos);
  CHECK(msg.find("malformed JSON") != std::string::npos);
  CHECK_THROWS_AS(hw::load_profile(temp_path("missing.json")), InputError);
}

TEST_CASE("raw measurement errors name the measurement and key", "[calibrate][raw]") {
  test::SyntheticGpu gpu;
  const json good = test::synthetic_raw(gpu, 1, 8);
  json j = good;
  j["measurements"][3]["shape"]["m"] = -4;
  CHECK(raw_error(j).find("raw.json: 'measurements[3].shape.m': must be >= 1") != std::string::npos);
  j = good;
  j["measurements"][2]["op"] = "convolution";
  CHECK(raw_error(j).find("'measurements[2].op': unknown op \"convolution\"") != std::string::npos);
  j = good;
  j["measurements"][0]["dtype"] = "int3";
  CHECK(raw_error(j).find("'measurements[0].dtype': unknown dtype") != std::string::npos);
  j = good;
  j["measurements"][1]["time_s"] = 0;
  CHECK(raw_error(j).find("'measurements[1].time_s': expected a positive number") != std::string::npos);
  j = good;
  j["measurements"][8].erase("direction");  // first attention point
  CHECK(raw_error(j).find("'measurements[8].direction': missing required key") != std::string::npos);
  j = good;
  j["schema"] = "foresight-raw/7";
  CHECK(raw_error(j).find("unsupported schema version") != std::string::npos);
  j = good;
  j["measurements"] = json::array();
  CHECK(raw_error(j).find("'measurements': no measurements to fit") != std::string::npos);
}

TEST_CASE("a profile without any fit falls back to the datasheet roofline, flagged", "[calibrate][profile]") {
  hw::Profile empty;
  empty.name = "empty";
  hw::CalibratedCostModel m(empty, 1e15, 3e12);
  const hw::Estimate e = m.gemm({4096, 4096, 4096, 1, "bf16"});
  CHECK(e.extrapolated);
  CHECK(e.source == "roofline");  // no measurement answered it
  CHECK(e.seconds == Approx(2.0 * 4096 * 4096 * 4096 / 1e15));
  CHECK(m.memory_op({"rmsnorm", 3e9, 0}).seconds == Approx(1e-3));
  CHECK_THROWS_AS(hw::CalibratedCostModel(empty, 0, 3e12), std::invalid_argument);
}

TEST_CASE("profile values outside physical bounds are located errors", "[calibrate][profile]") {
  json j = hw::profile_to_json(small_profile());
  json bad = j;
  bad["compute"][0]["knots"][0][1] = -1000;  // efficiency e^-1000
  CHECK(profile_error(bad).find("'compute[0].knots[0]': log efficiency outside") != std::string::npos);
  bad = j;
  bad["compute"][0]["peak_flops"] = 1e21;
  CHECK(profile_error(bad).find("'compute[0].peak_flops': above 1 EFLOP/s") != std::string::npos);
}

namespace {
// A flat-efficiency fit (efficiency 1 everywhere): time = roofline time at `peak` FLOP/s.
foresight::hw::ComputeFit flat_attention_fit(const char* backend, const char* direction, double peak) {
  foresight::hw::ComputeFit f;
  f.op = "attention";
  f.backend = backend;
  f.dtype = "bf16";
  f.direction = direction;
  f.peak_flops = peak;
  f.peak_bandwidth = 1e15;
  f.knots = {{-30.0, 0.0}, {5.0, 0.0}};
  f.min_log_r = -30;
  f.max_log_r = 5;
  return f;
}
}  // namespace

TEST_CASE("library kernels answer before our reference kernels; a reference-only backward is priced from the library forward",
          "[calibrate][profile]") {
  namespace hw = foresight::hw;
  hw::Profile p;
  p.name = "mixed";
  // Listed first on purpose: order in the file must not decide.
  p.compute.push_back(flat_attention_fit("foresight-fa2", "forward", 15e12));
  p.compute.push_back(flat_attention_fit("foresight-fa2", "backward", 14e12));
  p.compute.push_back(flat_attention_fit("cudnn-sdpa", "forward", 600e12));
  CHECK(p.find_compute("attention", "bf16", "forward")->backend == "cudnn-sdpa");
  CHECK(p.find_compute("attention", "bf16", "forward", "foresight-fa2")->backend == "foresight-fa2");
  CHECK(p.find_compute("attention", "bf16", "backward")->backend == "foresight-fa2");  // the only one
  CHECK(hw::is_reference_backend("foresight-paged"));
  CHECK_FALSE(hw::is_reference_backend("cudnn-sdpa"));

  hw::CalibratedCostModel model(p, 989e12, 4.8e12);
  const hw::AttentionQuery fwd{4, 8448, 8448, 16, 16, 128, false, false, "bf16"};
  hw::AttentionQuery bwd = fwd;
  bwd.backward = true;
  const hw::Estimate f = model.attention(fwd);
  const hw::Estimate b = model.attention(bwd);
  // Forward: the library fit's roofline time, exactly (efficiency 1).
  CHECK(f.seconds == Approx(hw::attention_flops(fwd) / 600e12).epsilon(1e-9));
  // Backward: the library forward scaled by the FLOP ratio (2.5x), flagged; not the 14 TFLOP/s kernel.
  CHECK(b.seconds == Approx(f.seconds * hw::attention_flops(bwd) / hw::attention_flops(fwd)).epsilon(1e-9));
  CHECK(b.extrapolated);
}

TEST_CASE("the measured H200 profile reproduces its own GPU run", "[calibrate][profile][measured]") {
  // hwmodels/profiles/measured/h200-sxm-141gb-2026-11-30: our harness on an H200 (cuBLASLt 13.1,
  // cuDNN 9.19). The profile keeps the raw points; its fits must answer them about as well as the
  // 5-fold held-out errors recorded at fit time (GEMM BF16 4.9 %, FP8 6.3 %, cuDNN SDPA 12.4 %).
  namespace hw = foresight::hw;
  const hw::Profile p =
      hw::load_profile(std::string(FORESIGHT_SOURCE_DIR) + "/hwmodels/profiles/h200-sxm-141gb-foresight.json.gz");
  CHECK(p.provenance.value("gpu_name", "") == "NVIDIA H200");
  hw::CalibratedCostModel model(p, 989e12, 4.8e12);
  std::map<std::string, std::vector<double>> errors;
  for (const auto& m : p.raw) {
    const double t = m.at("time_s").get<double>();
    const auto& s = m.at("shape");
    if (m.at("op") == "gemm" && s.at("layout") == "NT" && s.at("batch") == 1) {
      const std::string dt = m.at("dtype");
      const hw::Estimate e = model.gemm({s.at("m").get<int64_t>(), s.at("n").get<int64_t>(), s.at("k").get<int64_t>(), 1,
                                         dt == "fp8_e4m3" ? "fp8" : dt});
      errors["gemm " + dt].push_back(std::abs(e.seconds / t - 1));
    } else if (m.at("op") == "attention" && m.at("backend") == "cudnn-sdpa" && m.at("dtype") == "bf16") {
      const hw::Estimate e = model.attention({s.at("batch").get<int64_t>(), s.at("seq_q").get<int64_t>(),
                                              s.at("seq_kv").get<int64_t>(), s.at("heads").get<int64_t>(),
                                              s.at("kv_heads").get<int64_t>(), s.at("head_dim").get<int64_t>(),
                                              s.at("causal").get<bool>(), false, "bf16"});
      errors["attention"].push_back(std::abs(e.seconds / t - 1));
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  REQUIRE(errors["gemm bf16"].size() >= 300);
  REQUIRE(errors["gemm fp8_e4m3"].size() >= 250);
  REQUIRE(errors["attention"].size() >= 40);
  // In-sample medians at most the held-out ones (a fit answers its own points no worse than held-out).
  CHECK(median(errors["gemm bf16"]) <= 0.049);
  CHECK(median(errors["gemm fp8_e4m3"]) <= 0.063);
  CHECK(median(errors["attention"]) <= 0.124);
}
