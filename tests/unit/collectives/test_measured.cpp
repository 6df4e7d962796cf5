// Collectives timed from a profile's measurements where they apply, and only there.
#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace foresight;
using namespace foresight::sim;

namespace {

// A profile that measured 8-rank all-reduce on the line 10 us + bytes / 100 GB/s, 1 KiB .. 1 GiB.
std::shared_ptr<const hw::CalibratedCollectives> measured() {
  hw::Profile p;
  p.name = "m";
  hw::CollectiveFit f;
  f.op = "all_reduce", f.ranks = 8, f.alpha_s = 10e-6, f.beta_Bps = 100e9;
  f.min_bytes = 1024, f.max_bytes = double(1 << 30);
  for (double b : {f.min_bytes, f.max_bytes}) f.table.push_back({b, f.alpha_s + b / f.beta_Bps});  // measured range
  p.collectives.push_back(f);
  return std::make_shared<const hw::CalibratedCollectives>(std::move(p));
}

}  // namespace

TEST_CASE("measured collectives replace the model inside their node, op, ranks and sizes only", "[collectives]") {
  const auto cluster = test::make_cluster("dgx-h100", 2);
  CollectiveModel model(cluster, NcclParams::defaults());
  const CollectiveRequest intra{CollectiveOp::all_reduce, 64e6, test::first_ranks(8)};
  const double modelled = model.estimate(intra).time_s;
  model.use_measured(measured());
  const CollectiveResult r = model.estimate(intra);
  CHECK(r.algorithm == "measured");
  CHECK(r.time_s == Approx(10e-6 + 64e6 / 100e9));
  CHECK(r.time_s != Approx(modelled));
  // Across nodes, with a forced algorithm, of another op or rank count, or past the measured sizes:
  // the model answers.
  CHECK(model.estimate({CollectiveOp::all_reduce, 64e6, {0, 1, 2, 3, 8, 9, 10, 11}}).algorithm != "measured");
  CollectiveRequest forced = intra;
  forced.algorithm = "ring";
  CHECK(model.estimate(forced).algorithm == "ring");
  CHECK(model.estimate({CollectiveOp::all_gather, 64e6, test::first_ranks(8)}).algorithm != "measured");
  CHECK(model.estimate({CollectiveOp::all_reduce, 64e6, test::first_ranks(4)}).algorithm != "measured");
  CHECK(model.estimate({CollectiveOp::all_reduce, 4e9, test::first_ranks(8)}).algorithm != "measured");
}
