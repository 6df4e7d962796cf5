#include "sim/serving/trace_reader.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace foresight::sim {

namespace {

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) out.push_back(cur), cur.clear();
    else if (c != '\r') cur += c;
  }
  out.push_back(cur);
  return out;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "2023-11-16 18:15:46.6805900" -> seconds since the epoch; false when it is not that shape.
bool parse_datetime(const std::string& s, double& out) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  double sec = 0;
  char sep = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%d%c%d:%d:%lf", &y, &mo, &d, &sep, &h, &mi, &sec) != 7) return false;
  if ((sep != ' ' && sep != 'T') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || !(sec >= 0 && sec < 61))
    return false;
  out = double(days_from_civil(y, unsigned(mo), unsigned(d))) * 86400.0 + h * 3600.0 + mi * 60.0 + sec;
  return true;
}

bool parse_count(const std::string& s, int64_t& out) {
  const std::string t = trim(s);
  if (t.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (*end != '\0' || !(v >= 0) || v > 1e9 || v != std::floor(v)) return false;
  out = static_cast<int64_t>(v);
  return true;
}

}  // namespace

TraceReader::TraceReader(std::string path, std::string format) : path_(std::move(path)), format_(std::move(format)) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path_, ec))
    throw InputError(SourceLocation{path_, 0, 0}, "", "no trace file here (a regular file is needed)");
  in_.open(path_);
  if (!in_) throw InputError(SourceLocation{path_, 0, 0}, "", "cannot open the trace file");
}

void TraceReader::fail(int column, const std::string& message) const {
  throw InputError(SourceLocation{path_, line_, column}, "", message);
}

std::optional<TraceRow> TraceReader::next() {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_;
    if (trim(line).empty()) continue;
    std::optional<TraceRow> row = format_ == "mooncake" ? parse_json_row(line) : parse_csv_row(line);
    if (!row) continue;  // a header, or a skipped row
    row->line = line_;
    if (!have_origin_) origin_ = row->time, have_origin_ = true;
    if (row->time < last_) fail(1, fmt::format("time goes backwards ({} s after {} s); a trace must be sorted", row->time - origin_, last_ - origin_));
    last_ = row->time;
    row->time -= origin_;
    if (row->input <= 0 || row->output <= 0) {
      ++skipped_;
      continue;
    }
    return row;
  }
  if (in_.bad()) fail(0, "read error");
  return std::nullopt;
}

std::optional<TraceRow> TraceReader::parse_csv_row(const std::string& line) {
  const auto fields = split_csv(line);
  if (columns_.empty()) {
    // The header names the columns.
    const std::vector<std::string> want = format_ == "azure"
                                              ? std::vector<std::string>{"TIMESTAMP", "ContextTokens", "GeneratedTokens"}
                                              : std::vector<std::string>{"Timestamp", "Request tokens", "Response tokens"};
    for (const auto& w : want) {
      int found = -1;
      for (size_t i = 0; i < fields.size(); ++i)
        if (trim(fields[i]) == w) found = static_cast<int>(i);
      if (found < 0)
        fail(1, fmt::format("the {} trace header needs columns {}, {} and {}; got: {}", format_, want[0], want[1], want[2],
                            line.substr(0, 200)));
      columns_.push_back(found);
    }
    return std::nullopt;
  }
  auto column_of = [&](int field) {
    int col = 1;
    for (int i = 0; i < field && i < static_cast<int>(fields.size()); ++i) col += static_cast<int>(fields[i].size()) + 1;
    return col;
  };
  for (int c : columns_)
    if (c >= static_cast<int>(fields.size()))
      fail(static_cast<int>(line.size()) + 1, fmt::format("expected at least {} fields, got {}", c + 1, fields.size()));
  TraceRow row;
  const std::string& t = fields[static_cast<size_t>(columns_[0])];
  if (format_ == "azure") {
    if (!parse_datetime(trim(t), row.time))
      fail(column_of(columns_[0]), fmt::format("TIMESTAMP '{}' is not a date and time like 2023-11-16 18:15:46.68", trim(t)));
  } else {
    const std::string ts = trim(t);  // strtod's end pointer must point into a string that outlives it
    char* end = nullptr;
    row.time = std::strtod(ts.c_str(), &end);
    if (ts.empty() || *end != '\0' || !std::isfinite(row.time) || row.time < 0)
      fail(column_of(columns_[0]), fmt::format("Timestamp '{}' is not a number of seconds", ts));
  }
  if (!parse_count(fields[static_cast<size_t>(columns_[1])], row.input))
    fail(column_of(columns_[1]), fmt::format("'{}' is not a token count", trim(fields[static_cast<size_t>(columns_[1])])));
  if (!parse_count(fields[static_cast<size_t>(columns_[2])], row.output))
    fail(column_of(columns_[2]), fmt::format("'{}' is not a token count", trim(fields[static_cast<size_t>(columns_[2])])));
  return row;
}

std::optional<TraceRow> TraceReader::parse_json_row(const std::string& line) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    fail(static_cast<int>(e.byte), "not a JSON object (one request per line)");
  }
  if (!j.is_object()) fail(1, "not a JSON object (one request per line)");
  auto number = [&](const char* key) -> double {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number()) fail(1, fmt::format("'{}' is missing or not a number", key));
    return it->get<double>();
  };
  TraceRow row;
  row.time = number("timestamp") / 1000.0;  // Mooncake timestamps are milliseconds
  const double in = number("input_length"), out = number("output_length");
  if (!(in >= 0 && in <= 1e9 && out >= 0 && out <= 1e9)) fail(1, "token counts must be between 0 and 1e9");
  row.input = static_cast<int64_t>(in);
  row.output = static_cast<int64_t>(out);
  if (auto h = j.find("hash_ids"); h != j.end()) {
    if (!h->is_array()) fail(1, "'hash_ids' must be a list of integers");
    for (const auto& v : *h) {
      if (!v.is_number_integer()) fail(1, "'hash_ids' must be a list of integers");
      row.hash_ids.push_back(v.get<uint64_t>());
    }
  }
  return row;
}

}  // namespace foresight::sim
