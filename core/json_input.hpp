#pragma once
// Strict reading of JSON inputs (profiles, raw calibration files): every failure is a one-line
// InputError naming the file and the JSON key path ("compute[3].knots[0]"), never a nlohmann
// exception or a silently defaulted value.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace foresight {

class JsonInput {
 public:
  JsonInput(std::string file) : file_(std::move(file)) {}

  // Parses a whole file; malformed JSON is reported with its line and column.
  nlohmann::json parse_file(const std::string& path) const;

  [[noreturn]] void fail(const std::string& key_path, const std::string& message) const;

  const nlohmann::json& require(const nlohmann::json& obj, const std::string& path, const std::string& key) const;
  const nlohmann::json& object(const nlohmann::json& obj, const std::string& path, const std::string& key) const;
  const nlohmann::json& array(const nlohmann::json& obj, const std::string& path, const std::string& key) const;
  double number(const nlohmann::json& obj, const std::string& path, const std::string& key) const;
  // Finite and > 0; times, FLOPs and byte counts must be.
  double positive(const nlohmann::json& obj, const std::string& path, const std::string& key) const;
  long long integer(const nlohmann::json& obj, const std::string& path, const std::string& key) const;
  std::string string(const nlohmann::json& obj, const std::string& path, const std::string& key) const;
  bool boolean(const nlohmann::json& obj, const std::string& path, const std::string& key) const;
  void expect_object(const nlohmann::json& v, const std::string& path) const;

  // Rejects keys outside `allowed`, so a misspelt key is an error rather than a default.
  void only_keys(const nlohmann::json& obj, const std::string& path, const std::vector<std::string>& allowed) const;

  // Checks "<family>/<N>": a different family or N > supported is an error naming `key`.
  void check_schema(const nlohmann::json& root, const std::string& family, int supported) const;

  static std::string join(const std::string& path, const std::string& key);
  static std::string index(const std::string& path, size_t i);
  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

}  // namespace foresight
