#include "core/error.hpp"

namespace foresight {

std::string SourceLocation::str() const {
  std::string s = file.empty() ? std::string("<input>") : file;
  if (line > 0) s += ":" + std::to_string(line);
  if (line > 0 && column > 0) s += ":" + std::to_string(column);
  return s;
}

static std::string format_input_error(const SourceLocation& where, const std::string& key,
                                      const std::string& message) {
  std::string s = where.str() + ": ";
  if (!key.empty()) s += "'" + key + "': ";
  return s + message;
}

InputError::InputError(const SourceLocation& where, const std::string& key, const std::string& message)
    : std::runtime_error(format_input_error(where, key, message)) {}

}  // namespace foresight
