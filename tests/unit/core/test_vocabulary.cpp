// The ground floor's shared vocabulary: dtypes, collective names and busbw, bounded file reading.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/collective_op.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/text_file.hpp"

using namespace foresight;

TEST_CASE("dtype aliases share one spelling and size") {
  CHECK(canonical_dtype("fp8_e4m3") == "fp8");
  CHECK(canonical_dtype("bfloat16") == "bf16");
  CHECK(canonical_dtype("half") == "fp16");
  CHECK(canonical_dtype("float") == "fp32");
  CHECK(dtype_size("bf16") == 2);
  CHECK(dtype_size("tf32") == 4);     // stored as fp32
  CHECK(dtype_size("double") == 8);   // nccl-tests' -d double
  CHECK(dtype_size("int8") == 1);
  CHECK(dtype_size("fp4") == 0.5);
  CHECK(dtype_size("fp7") == 0);
}

TEST_CASE("collective names round-trip and busbw follows nccl-tests' PERFORMANCE.md") {
  for (auto op : {CollectiveOp::all_reduce, CollectiveOp::all_gather, CollectiveOp::reduce_scatter,
                  CollectiveOp::all_to_all, CollectiveOp::broadcast, CollectiveOp::reduce, CollectiveOp::send_recv})
    CHECK(parse_op(op_name(op)) == op);
  CHECK_THROWS_WITH(parse_op("allreduce"), Catch::StartsWith("unknown collective 'allreduce'"));
  CHECK(busbw_factor(CollectiveOp::all_reduce, 8) == 2.0 * 7 / 8);
  CHECK(busbw_factor(CollectiveOp::all_gather, 8) == 7.0 / 8);
  CHECK(busbw_factor(CollectiveOp::broadcast, 8) == 1.0);
}

TEST_CASE("input files are read whole, only from regular files") {
  const auto dir = std::filesystem::temp_directory_path();
  const auto path = (dir / "foresight-core-text.yaml").string();
  std::ofstream(path) << "name: x\n";
  CHECK(read_text_file(path) == "name: x\n");
  CHECK_THROWS_WITH(read_text_file(dir.string()), dir.string() + ": not a regular file");
  CHECK_THROWS_WITH(read_text_file("/dev/zero"), "/dev/zero: not a regular file");
  CHECK_THROWS_WITH(read_text_file(path + ".missing"), path + ".missing: cannot open file");
}
