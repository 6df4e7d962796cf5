#include "core/json_input.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/text_file.hpp"

namespace foresight {

using nlohmann::json;

std::string JsonInput::join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string JsonInput::index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

void JsonInput::fail(const std::string& key_path, const std::string& message) const {
  throw InputError(SourceLocation{file_, 0, 0}, key_path, message);
}

json JsonInput::parse_file(const std::string& path) const {
  const std::string text = read_text_file(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann reports a byte offset; users need line:column.
    size_t pos = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    int line = 1, col = 1;
    for (size_t i = 0; i < pos; ++i) {
      if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    std::string what = e.what();
    auto p = what.find("parse error");
    what = p == std::string::npos ? what : what.substr(p);
    std::replace(what.begin(), what.end(), '\n', ' ');
    throw InputError(SourceLocation{file_, line, col}, "", "malformed JSON: " + what);
  }
}

void JsonInput::expect_object(const json& v, const std::string& path) const {
  if (!v.is_object()) fail(path, std::string("expected an object, got ") + v.type_name());
}

const json& JsonInput::require(const json& obj, const std::string& path, const std::string& key) const {
  expect_object(obj, path.empty() ? "<root>" : path);
  auto it = obj.find(key);
  if (it == obj.end()) fail(join(path, key), "missing required key");
  return *it;
}

const json& JsonInput::object(const json& obj, const std::string& path, const std::string& key) const {
  const json& v = require(obj, path, key);
  if (!v.is_object()) fail(join(path, key), std::string("expected an object, got ") + v.type_name());
  return v;
}

const json& JsonInput::array(const json& obj, const std::string& path, const std::string& key) const {
  const json& v = require(obj, path, key);
  if (!v.is_array()) fail(join(path, key), std::string("expected an array, got ") + v.type_name());
  return v;
}

double JsonInput::number(const json& obj, const std::string& path, const std::string& key) const {
  const json& v = require(obj, path, key);
  if (!v.is_number()) fail(join(path, key), std::string("expected a number, got ") + v.type_name());
  double d = v.get<double>();
  if (!std::isfinite(d)) fail(join(path, key), "expected a finite number");
  return d;
}

double JsonInput::positive(const json& obj, const std::string& path, const std::string& key) const {
  double d = number(obj, path, key);
  if (!(d > 0)) fail(join(path, key), "expected a positive number, got " + json(d).dump());
  return d;
}

long long JsonInput::integer(const json& obj, const std::string& path, const std::string& key) const {
  const json& v = require(obj, path, key);
  if (!v.is_number_integer()) fail(join(path, key), std::string("expected an integer, got ") + v.dump());
  return v.get<long long>();
}

std::string JsonInput::string(const json& obj, const std::string& path, const std::string& key) const {
  const json& v = require(obj, path, key);
  if (!v.is_string()) fail(join(path, key), std::string("expected a string, got ") + v.type_name());
  return v.get<std::string>();
}

bool JsonInput::boolean(const json& obj, const std::string& path, const std::string& key) const {
  const json& v = require(obj, path, key);
  if (!v.is_boolean()) fail(join(path, key), std::string("expected true or false, got ") + v.dump());
  return v.get<bool>();
}

void JsonInput::only_keys(const json& obj, const std::string& path, const std::vector<std::string>& allowed) const {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
      fail(join(path, it.key()), "unknown key");
  }
}

void JsonInput::check_schema(const json& root, const std::string& family, int supported) const {
  const std::string s = string(root, "", "schema");
  const std::string prefix = family + "/";
  if (s.rfind(prefix, 0) != 0)
    fail("schema", "expected \"" + prefix + std::to_string(supported) + "\", got \"" + s + "\"");
  const std::string ver = s.substr(prefix.size());
  if (ver.empty() || !std::all_of(ver.begin(), ver.end(), [](char c) { return c >= '0' && c <= '9'; }))
    fail("schema", "malformed schema version \"" + s + "\"");
  if (ver.size() > 6 || std::stoi(ver) != supported)
    fail("schema", "unsupported schema version \"" + s + "\" (this build reads " + prefix +
                       std::to_string(supported) + ")");
}

}  // namespace foresight
