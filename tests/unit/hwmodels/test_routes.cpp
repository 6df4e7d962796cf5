#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace foresight;

TEST_CASE("routes follow the topology") {
  const auto c = test::make_cluster("dgx-h100", 64);  // 512 GPUs, rail-optimized, leaves of 32 nodes
  SECTION("inside a node: GPU up-link then destination down-link") {
    const auto r = c.route(3, 5);
    REQUIRE(r.links.size() == 2);
    CHECK(r.links[0] == c.nvlink_up_link(3));
    CHECK(r.links[1] == c.nvlink_down_link(5));
    CHECK_FALSE(r.crosses_network);
  }
  SECTION("same rail, same leaf: NIC to NIC through one switch") {
    const auto r = c.route(2, 8 * 5 + 2);  // node 0 -> node 5, both rail 2, leaf 2*2+0
    REQUIRE(r.links.size() == 2);
    CHECK(c.links()[static_cast<size_t>(r.links[0])].kind == hw::LinkKind::nic_tx);
    CHECK(c.links()[static_cast<size_t>(r.links[1])].kind == hw::LinkKind::nic_rx);
  }
  SECTION("same rail, other leaf: up to a spine and down") {
    const auto r = c.route(2, 8 * 40 + 2);  // node 40 is in the second leaf of rail 2
    REQUIRE(r.links.size() == 4);
    CHECK(c.links()[static_cast<size_t>(r.links[1])].kind == hw::LinkKind::leaf_up);
    CHECK(c.links()[static_cast<size_t>(r.links[2])].kind == hw::LinkKind::leaf_down);
    CHECK(c.tiers() == 2);
  }
  SECTION("the route's NICs are the source and destination GPUs' rails") {
    const auto r = c.route(8 * 3 + 6, 8 * 9 + 1);
    CHECK(c.link_name(r.links.front()) == "node3-nic6-tx");
    CHECK(c.link_name(r.links.back()) == "node9-nic1-rx");
  }
}

TEST_CASE("transfers to and from an NVSwitch use only the GPU's own NVLink port") {
  const auto c = test::make_cluster("dgx-h100", 2);
  hw::Route r;
  c.route_endpoints(5, hw::nvswitch_endpoint(0), r);
  CHECK(r.links == std::vector<int>{c.nvlink_up_link(5)});
  c.route_endpoints(hw::nvswitch_endpoint(1), 12, r);
  CHECK(r.links == std::vector<int>{c.nvlink_down_link(12)});
  c.route_endpoints(3, 11, r);  // GPU to GPU across nodes: the ordinary route
  CHECK(r.links == c.route(3, 11).links);
  CHECK(r.crosses_network);
}

TEST_CASE("three tiers appear when leaves outnumber a spine's ports; ECMP is seeded") {
  const auto big = test::make_cluster("dgx-h100", 4096);  // 32768 GPUs: 8 rails x 128 leaves > radix 64
  CHECK(big.tiers() == 3);
  const auto r = big.route(0, 8 * 4000);
  CHECK(r.links.size() == 6);  // nic, leaf up, agg up, agg down, leaf down, nic
  const auto again = test::make_cluster("dgx-h100", 4096).route(0, 8 * 4000);
  CHECK(again.links == r.links);
  int differ = 0;
  for (uint64_t seed = 2; seed < 12; ++seed) {
    const auto other = test::make_cluster("dgx-h100", 4096, hw::FabricKind::rail_optimized_fat_tree, 1.0, seed);
    differ += other.route(0, 8 * 4000).links != r.links;
  }
  CHECK(differ > 0);  // 10 seeds all hashing to the same uplinks among 32 would be a broken hash
}

TEST_CASE("fabric sizing and resolution errors are clear") {
  const auto& catalog = hw::Catalog::builtin();
  auto spec = test::cluster_spec("dgx-h100", 4096);
  spec.fabric.tiers = 2;
  hw::resolve_cluster(spec, catalog);
  CHECK_THROWS_WITH(hw::Cluster::build(spec), Catch::Contains("need 3 tiers"));
  spec = test::cluster_spec("dgx-h100", 2);
  spec.fabric.nic = "cx6-hdr-200g";
  CHECK_THROWS_WITH(hw::resolve_cluster(spec, catalog), Catch::Contains("cannot take NIC"));
  spec = test::cluster_spec("dgx-h100", 2);
  spec.fabric.switch_id = "sn5600";
  std::string key;
  CHECK_THROWS(hw::resolve_cluster(spec, catalog, [&](const std::string& k, const std::string&) { key = k; }));
  CHECK(key == "cluster.fabric.switch");  // an Ethernet switch under an InfiniBand NIC
  CHECK_THROWS_AS(hw::Cluster::build(test::cluster_spec("dgx-h100", 2)), std::logic_error);  // never resolved
}
