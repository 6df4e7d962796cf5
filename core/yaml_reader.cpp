#include "core/yaml_reader.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include "core/text_file.hpp"

namespace foresight {

YamlNode::YamlNode(YAML::Node node, std::string path, std::shared_ptr<const YamlSource> source)
    : node_(std::move(node)), path_(std::move(path)), source_(std::move(source)) {}

SourceLocation YamlNode::location() const {
  auto made = source_->created_by.find(path_);
  if (made != source_->created_by.end()) return SourceLocation{"--set " + made->second, 0, 0};
  for (const auto& p : source_->overridden)
    if (path_ == p || path_.rfind(p + ".", 0) == 0 || path_.rfind(p + "[", 0) == 0)
      return SourceLocation{"--set " + p, 0, 0};
  const YAML::Mark m = node_.Mark();
  if (m.line < 0) return SourceLocation{source_->file, 0, 0};
  return SourceLocation{source_->file, m.line + 1, m.column + 1};
}

void YamlNode::fail(const std::string& message) const { throw InputError(location(), path_, message); }

static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

// Mapping keys must be plain names; YAML also allows lists or maps as keys ("? [a]: 1").
static std::string key_name(const YAML::Node& key, const std::string& parent_path,
                            const std::shared_ptr<const YamlSource>& source) {
  if (!key.IsScalar()) YamlNode(key, parent_path, source).fail("mapping keys must be plain names");
  return key.Scalar();
}

bool YamlNode::has(const std::string& key) const { return node_.IsMap() && node_[key].IsDefined() && !node_[key].IsNull(); }

YamlNode YamlNode::at(const std::string& key) const {
  if (!node_.IsMap()) fail("expected a mapping with key '" + key + "'");
  auto child = node_[key];
  if (!child.IsDefined() || child.IsNull())
    throw InputError(location(), join(path_, key), "missing required key");
  return YamlNode(child, join(path_, key), source_);
}

std::optional<YamlNode> YamlNode::find(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return YamlNode(node_[key], join(path_, key), source_);
}

std::vector<YamlNode> YamlNode::items() const {
  if (!node_.IsSequence()) fail("expected a list");
  std::vector<YamlNode> out;
  for (size_t i = 0; i < node_.size(); ++i)
    out.emplace_back(node_[i], fmt::format("{}[{}]", path_, i), source_);
  return out;
}

std::vector<std::pair<std::string, YamlNode>> YamlNode::entries() const {
  if (!node_.IsMap()) fail("expected a mapping");
  std::vector<std::pair<std::string, YamlNode>> out;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string key = key_name(it->first, path_, source_);
    out.emplace_back(key, YamlNode(it->second, join(path_, key), source_));
  }
  return out;
}

void YamlNode::expect_only(std::initializer_list<const char*> allowed) const {
  expect_only(std::vector<std::string>(allowed.begin(), allowed.end()));
}

void YamlNode::expect_only(const std::vector<std::string>& allowed) const {
  if (!node_.IsMap()) fail("expected a mapping");
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string key = key_name(it->first, path_, source_);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      YamlNode bad(it->first, join(path_, key), source_);
      bad.fail("unknown key; expected one of: " + list);
    }
  }
}

std::string YamlNode::as_string() const {
  if (!node_.IsScalar()) fail("expected a single value");
  return node_.Scalar();
}

double YamlNode::as_double() const {
  const std::string s = as_string();
  try {
    return units::parse(s, units::Dimension::count);
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }
}

long long YamlNode::as_int() const {
  const double v = as_double();
  if (v != std::floor(v) || std::fabs(v) > 9.0e15) fail(fmt::format("expected an integer, got '{}'", as_string()));
  return static_cast<long long>(v);
}

long long YamlNode::as_positive_int() const {
  const long long v = as_int();
  if (v <= 0) fail(fmt::format("must be a positive integer, got {}", v));
  return v;
}

long long YamlNode::as_int_in(long long lo, long long hi) const {
  const long long v = as_int();
  if (v < lo || v > hi) fail(fmt::format("must be an integer from {} to {}, got {}", lo, hi, v));
  return v;
}

bool YamlNode::as_bool() const {
  const std::string s = as_string();
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  fail("expected true or false, got '" + s + "'");
}

double YamlNode::as_quantity(units::Dimension dim) const {
  try {
    const double v = units::parse(as_string(), dim);
    if (v < 0) fail("must not be negative");
    return v;
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }
}

std::string YamlNode::as_choice(const std::vector<std::string>& choices) const {
  const std::string s = as_string();
  if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  fail(fmt::format("'{}' is not one of: {}", s, list));
}

static InputError parse_error(const std::string& file, const YAML::Exception& e) {
  return InputError(SourceLocation{file, e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax error: " + e.msg);
}

namespace {

// Where each document of a stream starts; nothing else is kept.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> marks;
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

// yaml-cpp 0.7 accepts a quoted scalar that is never closed (`name: "x` to the end of the file) and
// the run then fails far from the mistake ("'cluster': missing required key"). Every quoted scalar
// must end with its quote: '"' closes unless escaped by a backslash, '\'' unless doubled.
static void reject_unterminated_quote(const YAML::Node& n, const std::string& text, const std::string& name) {
  const int pos = n.Mark().pos;
  if (pos < 0 || static_cast<size_t>(pos) >= text.size()) return;
  const char q = text[static_cast<size_t>(pos)];
  if (q != '"' && q != '\'') return;
  for (size_t i = static_cast<size_t>(pos) + 1; i < text.size(); ++i) {
    if (q == '"' && text[i] == '\\') {
      ++i;
    } else if (text[i] == q) {
      if (q == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;
      } else {
        return;
      }
    }
  }
  throw InputError(SourceLocation{name, n.Mark().line + 1, n.Mark().column + 1}, "",
                   std::string("YAML syntax error: the quoted string starting here is never closed (") + q + ")");
}

// One walk over the document checks what yaml-cpp lets through: duplicate keys (it keeps the first,
// so `nodes: 1` then `nodes: 4` would silently run one node) and unterminated quotes. Aliases make
// the document a graph: one that contains itself (`&a {x: *a}`, found by tests/fuzz) would send
// every later walk round forever, and aliases of aliases can expand exponentially; both are refused.
static void check_document(const YAML::Node& root, const std::string& text, const std::string& name) {
  constexpr size_t kMaxNodes = 1'000'000;  // a scenario has hundreds
  size_t visited = 0;
  std::vector<YAML::Node> path;
  std::function<void(const YAML::Node&)> walk = [&](const YAML::Node& n) {
    const SourceLocation here{name, n.Mark().line + 1, n.Mark().column + 1};
    for (const auto& p : path)
      if (p.is(n)) throw InputError(here, "", "an alias that contains itself (a YAML cycle)");
    if (++visited > kMaxNodes)
      throw InputError(here, "", fmt::format("the document expands to more than {} nodes through aliases", kMaxNodes));
    if (n.IsScalar()) return reject_unterminated_quote(n, text, name);
    path.push_back(n);
    if (n.IsMap()) {
      std::map<std::string, YAML::Mark> seen;
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (it->first.IsScalar()) {
          const auto [pos, fresh] = seen.emplace(it->first.Scalar(), it->first.Mark());
          if (!fresh)
            throw InputError(SourceLocation{name, it->first.Mark().line + 1, it->first.Mark().column + 1}, "",
                             fmt::format("duplicate key '{}' (first at line {})", it->first.Scalar(), pos->second.line + 1));
        }
        walk(it->first);
        walk(it->second);
      }
    } else if (n.IsSequence()) {
      for (const auto& item : n) walk(item);
    }
    path.pop_back();
  };
  walk(root);
}

YAML::Node load_yaml_string(const std::string& text, const std::string& name) {
  try {
    // At most two documents are parsed to tell "one" from "more": yaml-cpp 0.7 (Debian 12) loops
    // forever in LoadAll when a token cannot start a node (a lone ','), yielding empty documents at
    // the same place without consuming input (found by tests/fuzz; fixed upstream in 0.8.1).
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts starts;
    for (int i = 0; i < 2 && parser.HandleNextDocument(starts); ++i) {
    }
    if (starts.marks.size() > 1) {
      const YAML::Mark& first = starts.marks[0];
      const YAML::Mark& second = starts.marks[1];
      if (second.pos == first.pos && second.pos >= 0 && static_cast<size_t>(second.pos) < text.size())
        throw InputError(SourceLocation{name, second.line + 1, second.column + 1}, "",
                         fmt::format("YAML syntax error: '{}' cannot start a value here", text[second.pos]));
      throw InputError(SourceLocation{name, second.line + 1, 0}, "",
                       "a second YAML document ('---'); a scenario is one document");
    }
    YAML::Node root = starts.marks.empty() ? YAML::Node() : YAML::Load(text);
    check_document(root, text, name);
    return root;
  } catch (const YAML::Exception& e) {
    throw parse_error(name, e);
  }
}

YAML::Node load_yaml_file(const std::string& path) { return load_yaml_string(read_text_file(path), path); }

std::set<std::string> apply_overrides(YAML::Node& root, const std::vector<std::string>& assignments,
                                      std::map<std::string, std::string>* created_out) {
  std::set<std::string> paths;
  std::map<std::string, std::string> created_by;
  for (const auto& a : assignments) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError(SourceLocation{"--set", 0, 0}, a, "expected key.path=value");
    const std::string key = a.substr(0, eq);
    const std::string value = a.substr(eq + 1);
    if (value.find_first_not_of(" \t") == std::string::npos)
      throw InputError(SourceLocation{"--set " + key, 0, 0}, key, "a value is required after '='");
    if (value.find('\n') != std::string::npos)
      throw InputError(SourceLocation{"--set " + key, 0, 0}, key, "a value must be on one line");
    if (key.back() == '.')  // getline below yields no empty last component for "cluster."
      throw InputError(SourceLocation{"--set", 0, 0}, key, "empty component in key path");
    std::vector<std::string> parts;
    std::stringstream ss(key);
    for (std::string p; std::getline(ss, p, '.');) {
      if (p.empty()) throw InputError(SourceLocation{"--set", 0, 0}, key, "empty component in key path");
      parts.push_back(p);
    }
    if (!root.IsMap()) throw InputError(SourceLocation{"--set", 0, 0}, key, "scenario is not a mapping");
    // yaml-cpp nodes are handles: walking with operator[] on copies mutates the shared tree.
    std::vector<YAML::Node> chain{root};
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      YAML::Node next = chain.back()[parts[i]];
      if (!next.IsDefined() || next.IsNull()) {
        chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
        next = chain.back()[parts[i]];
        std::string made;
        for (size_t j = 0; j <= i; ++j) made += (j ? "." : "") + parts[j];
        created_by[made] = key;
      } else if (!next.IsMap()) {
        throw InputError(SourceLocation{"--set", 0, 0}, key,
                         "'" + parts[i] + "' holds a single value, not a mapping");
      }
      chain.push_back(next);
    }
    chain.back()[parts.back()] = load_yaml_string(value, "--set " + key);
    paths.insert(key);
  }
  if (created_out) *created_out = created_by;
  return paths;
}

}  // namespace foresight
