#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "sim/run/run_scenario.hpp"
#include "sim/scenario/scenario.hpp"

using namespace foresight;

// tests/data/bad-scenarios/NAME.yaml must fail with exactly the one-line message in NAME.expected.
// The fuzz target (tests/fuzz) adds what it finds here.
TEST_CASE("every bad scenario in the corpus fails with its expected message") {
  const std::filesystem::path root = FORESIGHT_SOURCE_DIR;
  const auto dir = root / "tests/data/bad-scenarios";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string name = std::filesystem::relative(entry.path(), root).string();
    std::ifstream yaml(entry.path()), expected_file(std::filesystem::path(entry.path()).replace_extension(".expected"));
    REQUIRE(expected_file);
    std::stringstream text;
    text << yaml.rdbuf();
    std::string expected;
    std::getline(expected_file, expected);
    std::string actual = "no error";
    try {
      // Some mistakes show only when the cluster or a collective is built: run what loads.
      const sim::Scenario sc = sim::load_scenario_text(text.str(), name);
      sim::run_scenario(sc, sim::RunOptions{});
    } catch (const InputError& e) {
      actual = e.what();
    }
    INFO(name);
    CHECK(actual == expected);
    CHECK(actual.find('\n') == std::string::npos);
    ++checked;
  }
  CHECK(checked >= 19);
}
