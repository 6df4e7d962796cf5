#include "core/memory_budget.hpp"

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "core/error.hpp"
#include "core/units.hpp"

namespace foresight {
namespace {

thread_local std::optional<MemoryBudget> g_scoped;

double parse_size(const std::string& text, const std::string& what) {
  double v = 0;
  try {
    v = units::parse(text, units::Dimension::bytes);
  } catch (const std::invalid_argument& e) {
    throw InputError(what + ": " + e.what());
  }
  // Below 1 MiB nothing can run; above 1 PiB no machine exists: both are mistakes.
  if (!(v >= 1024.0 * 1024.0) || v > 1125899906842624.0)
    throw InputError(what + ": '" + text + "' is outside 1 MiB .. 1 PiB");
  return v;
}

std::optional<double> mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream ss(line.substr(13));
    double kib = 0;
    if (ss >> kib && kib > 0) return kib * 1024.0;
  }
  return std::nullopt;
}

}  // namespace

MemoryBudget memory_budget() {
  if (g_scoped) return *g_scoped;
  if (const char* env = std::getenv("FORESIGHT_MAX_MEMORY"); env && *env)
    return {parse_size(env, "FORESIGHT_MAX_MEMORY"), std::string("FORESIGHT_MAX_MEMORY=") + env};
  if (auto avail = mem_available_bytes())
    return {0.8 * *avail, "80 % of available memory (" + units::format_bytes(*avail) + "); --max-memory to change"};
  return {16.0 * (1ull << 30), "16 GiB (available memory unknown); --max-memory to change"};
}

ScopedMemoryBudget::ScopedMemoryBudget(const std::string& text, const std::string& what) {
  const double bytes = parse_size(text, what);
  had_previous_ = g_scoped.has_value();
  if (had_previous_) previous_ = *g_scoped;
  g_scoped = MemoryBudget{bytes, what + " " + text};
}

ScopedMemoryBudget::~ScopedMemoryBudget() {
  if (had_previous_) g_scoped = previous_;
  else g_scoped.reset();
}

}  // namespace foresight
