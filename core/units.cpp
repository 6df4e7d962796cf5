#include "core/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace foresight::units {

namespace {

struct UnitEntry {
  const char* symbol;
  double factor;
};

// Bandwidth: lower-case b means bits (network convention), upper-case B bytes.
const std::vector<UnitEntry>& table(Dimension d) {
  static const std::vector<UnitEntry> bytes = {
      {"B", 1.0},       {"KB", 1e3},          {"MB", 1e6},          {"GB", 1e9},
      {"TB", 1e12},     {"KiB", 1024.0},      {"MiB", 1048576.0},   {"GiB", 1073741824.0},
      {"TiB", 1099511627776.0}};
  static const std::vector<UnitEntry> bandwidth = {
      {"b/s", 0.125},   {"Kb/s", 125.0},      {"Mb/s", 1.25e5},     {"Gb/s", 1.25e8},
      {"Tb/s", 1.25e11}, {"B/s", 1.0},        {"KB/s", 1e3},        {"MB/s", 1e6},
      {"GB/s", 1e9},    {"TB/s", 1e12},       {"KiB/s", 1024.0},    {"MiB/s", 1048576.0},
      {"GiB/s", 1073741824.0}};
  static const std::vector<UnitEntry> time = {
      {"s", 1.0}, {"ms", 1e-3}, {"us", 1e-6}, {"\xC2\xB5s", 1e-6}, {"ns", 1e-9},
      {"min", 60.0}, {"h", 3600.0}, {"d", 86400.0}};
  static const std::vector<UnitEntry> flop_rate = {
      {"FLOP/s", 1.0}, {"GFLOP/s", 1e9}, {"TFLOP/s", 1e12}, {"PFLOP/s", 1e15}};
  static const std::vector<UnitEntry> frequency = {{"Hz", 1.0}, {"MHz", 1e6}, {"GHz", 1e9}};
  static const std::vector<UnitEntry> power = {{"W", 1.0}, {"kW", 1e3}};
  static const std::vector<UnitEntry> rate = {{"/s", 1.0}, {"/min", 1.0 / 60}, {"/h", 1.0 / 3600}, {"/d", 1.0 / 86400}};
  static const std::vector<UnitEntry> none = {};
  switch (d) {
    case Dimension::bytes: return bytes;
    case Dimension::bandwidth: return bandwidth;
    case Dimension::time: return time;
    case Dimension::flop_rate: return flop_rate;
    case Dimension::frequency: return frequency;
    case Dimension::power: return power;
    case Dimension::rate: return rate;
    case Dimension::count: return none;
  }
  return none;
}

std::string accepted_units(Dimension d) {
  std::string s;
  for (const auto& u : table(d)) {
    if (!s.empty()) s += ", ";
    s += u.symbol;
  }
  return s;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

}  // namespace

const char* dimension_name(Dimension d) {
  switch (d) {
    case Dimension::bytes: return "a size";
    case Dimension::bandwidth: return "a bandwidth";
    case Dimension::time: return "a time";
    case Dimension::flop_rate: return "a FLOP rate";
    case Dimension::frequency: return "a frequency";
    case Dimension::power: return "a power";
    case Dimension::rate: return "a rate";
    case Dimension::count: return "a number";
  }
  return "a value";
}

double parse(const std::string& raw, Dimension dim) {
  const std::string text = trim(raw);
  if (text.empty()) throw std::invalid_argument(fmt::format("expected {}, got an empty value", dimension_name(dim)));
  const char* begin = text.c_str();
  char* end = nullptr;
  const double number = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(number))
    throw std::invalid_argument(fmt::format("expected {} like '{}', got '{}'", dimension_name(dim),
                                            dim == Dimension::count  ? "8"
                                            : dim == Dimension::rate ? "20/s"
                                                                     : "400 Gb/s",
                                            text));
  const std::string unit = trim(std::string(end));
  if (dim == Dimension::count) {
    if (!unit.empty()) throw std::invalid_argument(fmt::format("expected a plain number, got '{}'", text));
    return number;
  }
  if (unit.empty())
    throw std::invalid_argument(fmt::format("'{}' has no unit; {} needs one of: {}", text,
                                            dimension_name(dim), accepted_units(dim)));
  for (const auto& u : table(dim))
    if (unit == u.symbol) return number * u.factor;
  throw std::invalid_argument(fmt::format("unknown unit '{}' for {}; accepted: {}", unit,
                                          dimension_name(dim), accepted_units(dim)));
}

std::string format_bytes(double bytes) {
  static const std::pair<const char*, double> steps[] = {
      {"TiB", 1099511627776.0}, {"GiB", 1073741824.0}, {"MiB", 1048576.0}, {"KiB", 1024.0}};
  for (const auto& [sym, f] : steps)
    if (bytes >= f) return fmt::format("{:g} {}", bytes / f, sym);
  return fmt::format("{:g} B", bytes);
}

std::string format_time(double s) {
  if (s >= 1.0) return fmt::format("{:.3f} s", s);
  if (s >= 1e-3) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.2f} us", s * 1e6);
}

}  // namespace foresight::units
