#pragma once
// Request traces users have, read one row at a time (a trace may hold millions of rows):
//   azure     Azure LLM inference trace CSV: TIMESTAMP (date and time), ContextTokens, GeneratedTokens
//   burstgpt  BurstGPT CSV: Timestamp (s), Model, Request tokens, Response tokens, Total tokens, Log Type
//   mooncake  Mooncake JSONL: {"timestamp": ms, "input_length", "output_length", "hash_ids": [...]}
// Times are seconds since the first row. A malformed row is an InputError naming file, line and
// column; rows whose input or output is 0 tokens (failed requests in BurstGPT) are skipped and counted.
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace foresight::sim {

struct TraceRow {
  double time = 0;
  int64_t input = 0, output = 0;
  std::vector<uint64_t> hash_ids;   // mooncake: one per 512-token block of the prompt
  int line = 0;
};

inline constexpr int64_t kMooncakeBlockTokens = 512;  // Mooncake's trace hashes prompts in 512-token blocks

class TraceReader {
 public:
  TraceReader(std::string path, std::string format);
  std::optional<TraceRow> next();
  int64_t skipped() const { return skipped_; }
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(int column, const std::string& message) const;
  std::optional<TraceRow> parse_csv_row(const std::string& line);
  std::optional<TraceRow> parse_json_row(const std::string& line);

  std::string path_, format_;
  std::ifstream in_;
  int line_ = 0;
  int64_t skipped_ = 0;
  std::vector<int> columns_;      // csv: positions of time, input, output in a row
  bool have_origin_ = false;
  double origin_ = 0;
  double last_ = 0;
};

}  // namespace foresight::sim
