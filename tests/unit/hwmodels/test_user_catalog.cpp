// User catalog files: new hardware with every number sourced, located errors for bad entries.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "hwmodels/catalog/catalog.hpp"

using namespace foresight;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("foresight-test-" + name);
  std::ofstream(path) << text;
  return path.string();
}

std::string error_of(const std::string& name, const std::string& text) {
  try {
    hw::Catalog::builtin().with_files({write_temp(name, text)});
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

const char* kGpu = R"(gpus:
  my-gpu:
    name: "My GPU"
    architecture: hopper
    memory_capacity: {value: "96 GB", source: "vendor sheet"}
    memory_bandwidth: {value: "4 TB/s", source: "vendor sheet"}
    nvlink_generation: {value: 4, source: "vendor sheet"}
    nvlink_bandwidth: {value: "450 GB/s", source: "vendor sheet"}
    dense_flops:
      bf16: {value: "1000 TFLOP/s", source: "vendor sheet"}
)";

const char* kSystem = R"(systems:
  my-box:
    name: "My box"
    gpu: my-gpu
    gpus_per_node: {value: 4, source: "vendor sheet"}
    nvlink_domain: {value: 4, source: "vendor sheet"}
    nvswitch: {value: true, source: "vendor sheet"}
    nvls: {value: false, source: "vendor sheet"}
    nics_per_node: {value: 4, source: "vendor sheet"}
    supported_nics: [cx7-ndr-400g]
    default_nic: cx7-ndr-400g
    pcie_bandwidth: {value: "64 GB/s", source: "vendor sheet"}
)";

}  // namespace

TEST_CASE("a user catalog file adds a GPU and a system next to the built-in ones", "[hwmodels][catalog]") {
  const auto file = write_temp("ok.yaml", std::string(kGpu) + kSystem);
  const hw::Catalog c = hw::Catalog::builtin().with_files({file});
  CHECK(c.gpu("my-gpu").dense_flops.at("bf16") == 1000e12);
  CHECK(c.gpu("my-gpu").sources.at("memory_bandwidth") == "vendor sheet");
  CHECK(c.system("my-box").gpu == "my-gpu");
  CHECK(c.system("dgx-h100").gpus_per_node == 8);            // the built-in entries stay
  CHECK_THROWS_AS(hw::Catalog::builtin().gpu("my-gpu"), InputError);  // and the built-in catalog is untouched
}

TEST_CASE("bad user catalog entries are located errors", "[hwmodels][catalog]") {
  CHECK(error_of("dup.yaml", "gpus:\n  h100-sxm-80gb:\n    name: x\n") ==
        std::filesystem::temp_directory_path().string() +
            "/foresight-test-dup.yaml:3:5: 'gpus.h100-sxm-80gb': gpus 'h100-sxm-80gb' is already defined (built-in "
            "catalog or an earlier catalog file); give this entry a new id");
  std::string nosource = kGpu;
  const std::string sourced = "{value: \"4 TB/s\", source: \"vendor sheet\"}";
  nosource.replace(nosource.find(sourced), sourced.size(), "4 TB/s");
  CHECK_THAT(error_of("nosource.yaml", nosource),
             Catch::EndsWith("'gpus.my-gpu.memory_bandwidth': hardware facts are written {value: ..., source: ...}; "
                             "the source is required"));
  std::string unknown_gpu = kSystem;
  unknown_gpu.replace(unknown_gpu.find("gpu: my-gpu"), 11, "gpu: nope");
  CHECK_THAT(error_of("unknown.yaml", unknown_gpu), Catch::EndsWith(":4:10: 'systems.my-box.gpu': unknown GPU 'nope'"));
  std::string unknown_nic = std::string(kGpu) + kSystem;
  unknown_nic.replace(unknown_nic.find("[cx7-ndr-400g]"), 14, "[cx9]");
  CHECK_THAT(error_of("nic.yaml", unknown_nic), Catch::Contains("'systems.my-box.supported_nics[0]': unknown NIC 'cx9'"));
  CHECK_THAT(error_of("missing.yaml", "gpus: [1, 2"), Catch::Contains("foresight-test-missing.yaml"));
  CHECK_THROWS_WITH(hw::Catalog::builtin().with_files({"/nonexistent/catalog.yaml"}),
                    "/nonexistent/catalog.yaml: cannot open file");
}
