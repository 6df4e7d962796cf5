#pragma once
// Every user-facing failure is an InputError: one line, naming where (file:line:column) and which key.
// The CLI prints what() and exits 2; the Python module raises it as foresight.InputError.
#include <stdexcept>
#include <string>

namespace foresight {

struct SourceLocation {
  std::string file;  // may be empty for values that came from --set or the API
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown

  std::string str() const;
};

class InputError : public std::runtime_error {
 public:
  InputError(const SourceLocation& where, const std::string& key, const std::string& message);
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace foresight
