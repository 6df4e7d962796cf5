#pragma once
// How much memory a run may plan to allocate. Workloads estimate what their plan will allocate (tasks,
// buckets, ranks) before building it and refuse, with the keys to change, when the estimate is over
// this budget, instead of running into std::bad_alloc or the OOM killer minutes later.
#include <string>

namespace foresight {

struct MemoryBudget {
  double bytes = 0;    // the budget
  std::string source;  // where it came from, for messages: "--max-memory 8 GiB", "80 % of available memory (…)"
};

// The budget in force: the innermost ScopedMemoryBudget, else FORESIGHT_MAX_MEMORY (a size such as
// "8GiB"), else 80 % of MemAvailable in /proc/meminfo (the rest is for what estimates leave out),
// else 16 GiB where /proc/meminfo cannot be read (a guess that fits the 24 GiB build and CI machines).
MemoryBudget memory_budget();

// Sets the budget for the current thread while alive (a run's --max-memory / max_memory=); `text`
// is a size with a unit; bad text throws InputError naming `what` (e.g. "--max-memory").
class ScopedMemoryBudget {
 public:
  ScopedMemoryBudget(const std::string& text, const std::string& what);
  ~ScopedMemoryBudget();
  ScopedMemoryBudget(const ScopedMemoryBudget&) = delete;
  ScopedMemoryBudget& operator=(const ScopedMemoryBudget&) = delete;

 private:
  MemoryBudget previous_;
  bool had_previous_ = false;
};

}  // namespace foresight
