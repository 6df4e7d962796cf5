#include "core/text_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <zlib.h>

#include "core/error.hpp"

namespace foresight {

namespace {

bool gzip_name(const std::string& path) { return path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0; }

std::string inflate(const std::string& path, const std::string& compressed) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw InputError(SourceLocation{path, 0, 0}, "", "cannot start gzip decoding");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char chunk[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = ::inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      throw InputError(SourceLocation{path, 0, 0}, "", "not valid gzip data");
    }
    out.append(chunk, sizeof chunk - z.avail_out);
    if (out.size() > kMaxInflatedBytes) {
      inflateEnd(&z);
      throw InputError(SourceLocation{path, 0, 0}, "",
                       fmt::format("decompresses to more than {} MiB", kMaxInflatedBytes >> 20));
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      throw InputError(SourceLocation{path, 0, 0}, "", "gzip data ends early");
    }
  }
  inflateEnd(&z);
  return out;
}

}  // namespace

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
  return gzip_name(path) ? inflate(path, buf.str()) : buf.str();
}

void write_text_file(const std::string& path, const std::string& text) {
  if (gzip_name(path)) {
    gzFile f = gzopen(path.c_str(), "wb9");
    if (!f) throw InputError(SourceLocation{path, 0, 0}, "", "cannot write file");
    const int wrote = gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    const int closed = gzclose(f);
    if (wrote != static_cast<int>(text.size()) || closed != Z_OK)
      throw InputError(SourceLocation{path, 0, 0}, "", "error while writing file");
    return;
  }
  std::ofstream out(path, std::ios::binary);
  if (!out) throw InputError(SourceLocation{path, 0, 0}, "", "cannot write file");
  out << text;
  out.flush();
  if (!out) throw InputError(SourceLocation{path, 0, 0}, "", "error while writing file");
}

}  // namespace foresight
