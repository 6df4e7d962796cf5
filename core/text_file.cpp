#include "core/text_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.hpp"

namespace foresight {

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw InputError(SourceLocation{path, 0, 0}, "", "cannot open file");
  if (!std::filesystem::is_regular_file(status))
    throw InputError(SourceLocation{path, 0, 0}, "", "not a regular file");
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxInputFileBytes)
    throw InputError(SourceLocation{path, 0, 0}, "",
                     fmt::format("file is {} bytes; input files are limited to {} MiB", size, kMaxInputFileBytes >> 20));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(SourceLocation{path, 0, 0}, "", "cannot open file");
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace foresight
