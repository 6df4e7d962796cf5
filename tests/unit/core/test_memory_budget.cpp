#include <catch2/catch.hpp>

#include <cstdlib>

#include "core/error.hpp"
#include "core/memory_budget.hpp"

using foresight::InputError;
using foresight::memory_budget;
using foresight::ScopedMemoryBudget;

TEST_CASE("the memory budget: a scoped value wins, nests and restores; bad sizes are located errors") {
  ::unsetenv("FORESIGHT_MAX_MEMORY");
  const auto machine = memory_budget();  // 80 % of MemAvailable here (Linux CI), never zero
  CHECK(machine.bytes > 0);
  CHECK(machine.source.find("--max-memory") != std::string::npos);  // the message says how to change it
  {
    ScopedMemoryBudget outer("8 GiB", "--max-memory");
    CHECK(memory_budget().bytes == 8.0 * 1073741824.0);
    CHECK(memory_budget().source == "--max-memory 8 GiB");
    {
      ScopedMemoryBudget inner("2MiB", "max_memory");
      CHECK(memory_budget().bytes == 2.0 * 1048576.0);
    }
    CHECK(memory_budget().bytes == 8.0 * 1073741824.0);
  }
  CHECK(memory_budget().bytes == machine.bytes);
  ::setenv("FORESIGHT_MAX_MEMORY", "3GiB", 1);
  CHECK(memory_budget().bytes == 3.0 * 1073741824.0);
  CHECK(memory_budget().source == "FORESIGHT_MAX_MEMORY=3GiB");
  ::setenv("FORESIGHT_MAX_MEMORY", "lots", 1);
  CHECK_THROWS_WITH(memory_budget(), Catch::Contains("FORESIGHT_MAX_MEMORY"));
  ::unsetenv("FORESIGHT_MAX_MEMORY");
  CHECK_THROWS_AS(ScopedMemoryBudget("12", "--max-memory"), InputError);              // no unit
  CHECK_THROWS_WITH(ScopedMemoryBudget("1 KiB", "--max-memory"), Catch::Contains("1 MiB .. 1 PiB"));
  CHECK_THROWS_AS(ScopedMemoryBudget("1e30 B", "--max-memory"), InputError);
}
