#include "core/error.hpp"

namespace foresight {

std::string SourceLocation::str() const {
  std::string s = file.empty() ? std::string("<input>") : file;
  if (line > 0) s += ":" + std::to_string(line);
  if (line > 0 && column > 0) s += ":" + std::to_string(column);
  return s;
}

// One line, always: a value with a newline (or other control character) echoed into a message is
// shown escaped.
static std::string one_line(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') out += '?';
    else out += c;
  }
  return out;
}

static std::string format_input_error(const SourceLocation& where, const std::string& key,
                                      const std::string& message) {
  std::string s = where.str() + ": ";
  if (!key.empty()) s += "'" + key + "': ";
  return one_line(s + message);
}

InputError::InputError(const SourceLocation& where, const std::string& key, const std::string& message)
    : std::runtime_error(format_input_error(where, key, message)) {}

}  // namespace foresight
