#pragma once
// Reading an input file whole: only regular files, and only up to a size no scenario, catalog or
// profile needs, so a FIFO or /dev/zero is an error instead of a read that never ends.
#include <cstddef>
#include <string>

namespace foresight {

inline constexpr std::size_t kMaxInputFileBytes = std::size_t{64} << 20;  // 64 MiB

// Throws InputError naming the file when it cannot be opened, is not a regular file, or is larger
// than kMaxInputFileBytes.
std::string read_text_file(const std::string& path);

}  // namespace foresight
