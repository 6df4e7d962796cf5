#pragma once
// Strict, location-aware access to YAML documents. Every accessor that fails throws InputError naming
// file:line:column and the dotted key path; expect_only() rejects misspelt keys instead of ignoring them.
#include <initializer_list>
#include <memory>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/error.hpp"
#include "core/units.hpp"

namespace foresight {

struct YamlSource {
  std::string file;                    // shown in errors
  std::set<std::string> overridden;    // key paths whose value came from --set
  std::map<std::string, std::string> created_by;  // mappings that only exist because of a --set key
};

class YamlNode {
 public:
  YamlNode(YAML::Node node, std::string path, std::shared_ptr<const YamlSource> source);

  const std::string& path() const { return path_; }
  SourceLocation location() const;
  [[noreturn]] void fail(const std::string& message) const;

  bool is_map() const { return node_.IsMap(); }
  bool is_sequence() const { return node_.IsSequence(); }
  bool is_scalar() const { return node_.IsScalar(); }
  bool has(const std::string& key) const;

  YamlNode at(const std::string& key) const;                       // required
  std::optional<YamlNode> find(const std::string& key) const;      // optional
  std::vector<YamlNode> items() const;                              // sequence elements
  std::vector<std::pair<std::string, YamlNode>> entries() const;    // map entries in file order

  void expect_only(std::initializer_list<const char*> allowed) const;  // unknown key -> error
  void expect_only(const std::vector<std::string>& allowed) const;

  std::string as_string() const;
  double as_double() const;
  long long as_int() const;                 // rejects fractions
  long long as_positive_int() const;        // > 0
  // An integer in [lo, hi]: every count a scenario gives has a sane maximum, so no later product or
  // cast to int can overflow (the error says the range).
  long long as_int_in(long long lo, long long hi) const;
  bool as_bool() const;
  double as_quantity(units::Dimension dim) const;
  std::string as_choice(const std::vector<std::string>& choices) const;

  const YAML::Node& raw() const { return node_; }

 private:
  YAML::Node node_;
  std::string path_;
  std::shared_ptr<const YamlSource> source_;
};

// Loads a file; syntax errors become InputError with the parser's position.
YAML::Node load_yaml_file(const std::string& path);
YAML::Node load_yaml_string(const std::string& text, const std::string& name);

// Applies "a.b.c=value" overrides in place; value is parsed as YAML (so "[1,2]" is a list).
// Returns the overridden key paths.
// `created_out`: mappings that exist only because an override made them (errors about them blame
// that --set argument, not the file).
std::set<std::string> apply_overrides(YAML::Node& root, const std::vector<std::string>& assignments,
                                      std::map<std::string, std::string>* created_out = nullptr);

}  // namespace foresight
