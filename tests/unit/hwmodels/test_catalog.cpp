#include <catch2/catch.hpp>

#include "hwmodels/catalog/catalog.hpp"
#include "core/error.hpp"

using namespace foresight;

TEST_CASE("the built-in catalog has every required entry, each number with a source") {
  const auto& c = hw::Catalog::builtin();
  for (const char* id : {"a100-sxm-80gb", "h100-sxm-80gb", "h800-sxm-80gb", "h200-sxm-141gb", "b200", "gb200"}) {
    const auto& g = c.gpu(id);
    CHECK(g.dense_flops.count("bf16") == 1);
    CHECK(g.sources.count("memory_bandwidth") == 1);
    CHECK(g.sources.count("dense_flops.bf16") == 1);
  }
  for (const char* id : {"dgx-a100", "hgx-a100", "dgx-h100", "hgx-h100", "hgx-h200", "dgx-b200", "hgx-b200", "gb200-nvl72"})
    CHECK(c.system(id).sources.count("gpus_per_node") == 1);
  for (const char* id : {"cx6-hdr-200g", "cx7-ndr-400g", "cx8-xdr-800g", "cx7-roce-400g"}) CHECK(c.nic(id).bandwidth > 0);
  CHECK(c.switches().size() >= 4);
  CHECK(c.models().size() >= 20);
}

TEST_CASE("catalog values match their datasheets") {
  const auto& c = hw::Catalog::builtin();
  // H100 SXM datasheet: 989 TFLOP/s dense BF16, 3.35 TB/s HBM3, 900 GB/s NVLink (450 per direction).
  CHECK(c.gpu("h100-sxm-80gb").dense_flops.at("bf16") == Approx(989e12).epsilon(0.001));
  CHECK(c.gpu("h100-sxm-80gb").memory_bandwidth == Approx(3.35e12));
  CHECK(c.gpu("h100-sxm-80gb").nvlink_bandwidth == Approx(450e9));
  CHECK(c.gpu("a100-sxm-80gb").dense_flops.at("bf16") == Approx(312e12));
  CHECK(c.nic("cx7-ndr-400g").bandwidth == Approx(50e9));
  CHECK(c.system("gb200-nvl72").nvlink_domain == 72);
}

TEST_CASE("a catalog number without a source is rejected") {
  hw::Catalog c;
  CHECK_THROWS_WITH(c.load_text("nics:\n  x:\n    name: X\n    protocol: roce\n    bandwidth: 400 Gb/s\n", "n.yaml"),
                    "n.yaml:5:16: 'nics.x.bandwidth': hardware facts are written {value: ..., source: ...}; the source is required");
  CHECK_THROWS_WITH(c.gpu("h900"), Catch::StartsWith("unknown GPU 'h900'"));
}
