#pragma once
// Reading and writing an input or output file whole: only regular files, and only up to a size no
// scenario, catalog or profile needs, so a FIFO or /dev/zero is an error instead of a read that
// never ends. A name ending in .gz is gzip-compressed (profiles of measured tables are stored so).
#include <cstddef>
#include <string>

namespace foresight {

inline constexpr std::size_t kMaxInputFileBytes = std::size_t{64} << 20;    // 64 MiB on disk
inline constexpr std::size_t kMaxInflatedBytes = std::size_t{512} << 20;    // 512 MiB once decompressed

// Throws InputError naming the file when it cannot be opened, is not a regular file, is larger than
// the limits, or is not valid gzip where its name says it is.
std::string read_text_file(const std::string& path);

// Writes (gzip-compressing a .gz name); a failed write is an InputError naming the file.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace foresight
