#include <catch2/catch.hpp>

#include "core/units.hpp"

using foresight::units::Dimension;
using foresight::units::parse;

TEST_CASE("unit strings convert to SI base units") {
  CHECK(parse("1KiB", Dimension::bytes) == 1024.0);
  CHECK(parse("80 GiB", Dimension::bytes) == 80.0 * 1073741824.0);
  CHECK(parse("8 GB", Dimension::bytes) == 8e9);
  CHECK(parse("400 Gb/s", Dimension::bandwidth) == 50e9);  // bits, the network convention
  CHECK(parse("450 GB/s", Dimension::bandwidth) == 450e9);
  CHECK(parse("1.5 us", Dimension::time) == Approx(1.5e-6));
  CHECK(parse("989 TFLOP/s", Dimension::flop_rate) == 989e12);
  CHECK(parse("1980 MHz", Dimension::frequency) == 1.98e9);
  CHECK(parse("8", Dimension::count) == 8.0);
  CHECK(parse("20/s", Dimension::rate) == 20.0);
  CHECK(parse("600 /min", Dimension::rate) == Approx(10.0));
}

TEST_CASE("ambiguous or wrong units are rejected with the accepted list") {
  CHECK_THROWS_WITH(parse("400", Dimension::bandwidth), Catch::Contains("has no unit") && Catch::Contains("Gb/s"));
  CHECK_THROWS_WITH(parse("400 Gbps", Dimension::bandwidth), Catch::Contains("unknown unit 'Gbps'"));
  CHECK_THROWS_WITH(parse("GB", Dimension::bytes), Catch::Contains("expected a size"));
  CHECK_THROWS_WITH(parse("3 GB", Dimension::count), Catch::Contains("plain number"));
  CHECK_THROWS(parse("", Dimension::bytes));
  CHECK_THROWS(parse("nan GB", Dimension::bytes));
}
