#include "calibrate/import/nccl_tests.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "calibrate/fit/alpha_beta.hpp"
#include "calibrate/fit/fitter.hpp"
#include "core/collective_op.hpp"
#include "core/error.hpp"

namespace foresight::calibrate {

namespace {

std::vector<std::string> split_ws(const std::string& s) {
  std::istringstream is(s);
  std::vector<std::string> out;
  std::string t;
  while (is >> t) out.push_back(t);
  return out;
}

std::string lower_alnum(const std::string& s) {
  std::string out;
  for (char c : s)
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool parse_double(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(*v);
}

struct Header {
  std::vector<std::string> cols;
  size_t prefix = 0;               // columns before the first "time"
  std::vector<bool> group_in_place;  // per time/algbw/busbw/wrong group
};

}  // namespace

std::string nccl_op_from_name(const std::string& name) {
  std::string base = name;
  auto slash = base.find_last_of('/');
  if (slash != std::string::npos) base = base.substr(slash + 1);
  const std::string n = lower_alnum(base);
  // Longest names first: "reducescatter" contains "reduce", "allreduce" contains "reduce".
  static const std::pair<const char*, const char*> names[] = {
      {"reducescatter", "reduce_scatter"}, {"allreduce", "all_reduce"}, {"allgather", "all_gather"},
      {"alltoall", "all_to_all"}, {"sendrecv", "send_recv"}};
  for (const auto& [key, op] : names)
    if (n.find(key) != std::string::npos) return op;
  return "";
}

double nccl_busbw_factor(const std::string& op, int ranks) {
  return busbw_factor(parse_op(op), ranks);  // one definition of nccl-tests' busbw
}

NcclTestsLog parse_nccl_tests(std::istream& in, const std::string& file, const std::string& op) {
  NcclTestsLog log;
  log.file = file;
  auto fail = [&](int line, const std::string& key, const std::string& msg) -> void {
    throw InputError(SourceLocation{file, line, 0}, key, msg);
  };
  Header hdr;
  std::string detected, title;
  std::string text;
  int lineno = 0;
  while (std::getline(in, text)) {
    ++lineno;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    const auto tok = split_ws(text);
    if (tok.empty()) continue;
    if (tok[0][0] == '#') {
      // Tokens after the leading '#', whether or not it is followed by a space.
      std::vector<std::string> t = tok;
      if (t[0] == "#") t.erase(t.begin()); else t[0] = t[0].substr(1);
      if (t.empty()) continue;
      if (t[0] == "Rank" && t.size() >= 2 && std::all_of(t[1].begin(), t[1].end(), ::isdigit)) {
        ++log.ranks;
        auto br = text.find(']');
        if (log.gpu_name.empty() && br != std::string::npos) {
          std::string g = text.substr(br + 1);
          g.erase(0, g.find_first_not_of(' '));
          log.gpu_name = g;
        }
      } else if (text.find("out-of-place") != std::string::npos || text.find("in-place") != std::string::npos) {
        title = text;
      } else if ((t[0] == "size" || t[0] == "bytes") && std::find(t.begin(), t.end(), "time") != t.end()) {
        hdr.cols = t;
        hdr.prefix = size_t(std::find(t.begin(), t.end(), "time") - t.begin());
        const size_t groups = (t.size() - hdr.prefix) / 4;
        if (groups < 1 || groups > 2 || (t.size() - hdr.prefix) % 4 != 0)
          fail(lineno, "header", "expected one or two groups of 'time algbw busbw #wrong' columns");
        for (size_t g = 0; g < groups; ++g) {
          const size_t b = hdr.prefix + 4 * g;
          if (t[b] != "time" || t[b + 1] != "algbw" || t[b + 2] != "busbw")
            fail(lineno, "header", "expected 'time algbw busbw' in column group " + std::to_string(g + 1));
        }
        // The title line above says which group is which; out-of-place comes first in NVIDIA's tool.
        const auto oop = title.find("out-of-place"), ip = title.find("in-place");
        const bool in_place_first = ip != std::string::npos && (oop == std::string::npos || ip < oop);
        for (size_t g = 0; g < groups; ++g) hdr.group_in_place.push_back(groups == 1 ? in_place_first : (g == 0) == in_place_first);
      } else if (text.find("Avg bus bandwidth") != std::string::npos) {
        double v = 0;
        if (!parse_double(t.back(), &v)) fail(lineno, "Avg bus bandwidth", "expected a number, got \"" + t.back() + "\"");
        log.avg_busbw_Bps = v * 1e9;
      } else if (text.find("Collective test starting") != std::string::npos) {
        detected = nccl_op_from_name(t.back());
      } else {
        for (const auto& w : t) {
          if (w.rfind("nccl-library=", 0) == 0) log.nccl_version = w.substr(13);
        }
        auto pos = text.find("NCCL version");
        if (pos != std::string::npos && log.nccl_version.empty()) {
          auto v = split_ws(text.substr(pos + 12));
          if (!v.empty()) log.nccl_version = v[0];
        }
      }
      continue;
    }
    // Data rows start with the byte count; anything else (NCCL INFO lines, launcher noise) is skipped.
    if (!std::isdigit(static_cast<unsigned char>(tok[0][0]))) continue;
    if (hdr.cols.empty()) fail(lineno, "header", "data row before the '# size count ... time algbw busbw' header");
    if (tok.size() != hdr.cols.size())
      fail(lineno, "row", "expected " + std::to_string(hdr.cols.size()) + " columns as in the header, got " +
                              std::to_string(tok.size()));
    NcclTestsRow row;
    row.line = lineno;
    for (size_t c = 0; c < hdr.prefix; ++c) {
      const std::string& name = hdr.cols[c];
      double v = 0;
      if (name == "size" || name == "bytes") {
        if (!parse_double(tok[c], &v) || v <= 0) fail(lineno, name, "expected a positive byte count, got \"" + tok[c] + "\"");
        row.bytes = v;
      } else if (name == "count" || name == "N") {
        if (!parse_double(tok[c], &v) || v < 0) fail(lineno, name, "expected an element count, got \"" + tok[c] + "\"");
        row.count = static_cast<long long>(v);
      } else if (name == "type") {
        row.type = tok[c];
      } else if (name == "redop" || name == "op") {
        row.redop = tok[c];
      } else if (name == "root") {
        if (!parse_double(tok[c], &v)) fail(lineno, name, "expected an integer, got \"" + tok[c] + "\"");
        row.root = static_cast<long long>(v);
      }
    }
    for (size_t g = 0; g < hdr.group_in_place.size(); ++g) {
      const size_t b = hdr.prefix + 4 * g;
      const std::string where = hdr.group_in_place[g] ? "in-place." : "out-of-place.";
      NcclTestsResult r;
      double t = 0, alg = 0, bus = 0;
      if (!parse_double(tok[b], &t) || t <= 0) fail(lineno, where + "time", "expected a positive time in us, got \"" + tok[b] + "\"");
      if (!parse_double(tok[b + 1], &alg) || alg < 0) fail(lineno, where + "algbw", "expected a bandwidth in GB/s, got \"" + tok[b + 1] + "\"");
      if (!parse_double(tok[b + 2], &bus) || bus < 0) fail(lineno, where + "busbw", "expected a bandwidth in GB/s, got \"" + tok[b + 2] + "\"");
      r.time_s = t * 1e-6;
      r.algbw_Bps = alg * 1e9;
      r.busbw_Bps = bus * 1e9;
      r.wrong = tok[b + 3];
      double w = 0;
      if (r.wrong != "N/A" && (!parse_double(r.wrong, &w) || w != 0))
        fail(lineno, where + hdr.cols[b + 3], "the run reported wrong results (\"" + r.wrong + "\"); its timings are not usable");
      (hdr.group_in_place[g] ? row.in_place : row.out_of_place) = r;
      (hdr.group_in_place[g] ? row.has_in_place : row.has_out_of_place) = true;
    }
    log.rows.push_back(row);
  }
  log.op = !op.empty() ? op : !detected.empty() ? detected : nccl_op_from_name(file);
  if (log.op.empty()) fail(0, "op", "cannot tell which collective this log measured; pass --op");
  if (nccl_op_from_name(log.op) != log.op)
    fail(0, "op", "unsupported collective \"" + log.op + "\" (all_reduce, all_gather, reduce_scatter, all_to_all, send_recv)");
  if (hdr.cols.empty()) fail(0, "header", "no '# size count ... time algbw busbw' column header: not an nccl-tests log?");
  if (log.rows.empty()) fail(0, "rows", "no result rows");
  if (log.ranks == 0) fail(0, "Rank", "no '#  Rank N ... device' lines, so the number of ranks is unknown");
  // busbw/algbw is fixed by the collective; a mismatch means the op was detected or given wrongly.
  const double factor = nccl_busbw_factor(log.op, log.ranks);
  for (const auto& row : log.rows) {
    const NcclTestsResult& r = row.has_out_of_place ? row.out_of_place : row.in_place;
    if (r.algbw_Bps >= 1e9 && std::fabs(r.busbw_Bps / r.algbw_Bps - factor) > 0.05 * factor)
      fail(row.line, "busbw", "busbw/algbw does not match " + log.op + " on " + std::to_string(log.ranks) +
                                  " ranks; wrong --op or rank count?");
  }
  return log;
}

NcclTestsLog load_nccl_tests(const std::string& path, const std::string& op) {
  std::ifstream in(path);
  if (!in) throw InputError(SourceLocation{path, 0, 0}, "", "cannot open file");
  return parse_nccl_tests(in, path, op);
}

hw::Profile import_nccl_tests(const std::vector<NcclTestsLog>& logs, const ImportOptions& opt) {
  if (opt.system.empty()) throw InputError("--system: must name the system the logs were measured on");
  if (logs.empty()) throw InputError("no nccl-tests logs given");
  hw::Profile prof;
  prof.name = opt.system;
  const std::string algorithm = hw::canonical_nccl_name(opt.algorithm), protocol = hw::canonical_nccl_name(opt.protocol);
  prof.folds = opt.folds;
  prof.seed = opt.seed;
  nlohmann::json files = nlohmann::json::array();
  std::map<std::pair<std::string, int>, std::vector<SizedTime>> groups;
  static const std::map<std::string, std::string> dtype = {{"float", "fp32"}, {"half", "fp16"}, {"bfloat16", "bf16"},
                                                           {"double", "fp64"}, {"int8", "int8"}, {"uint8", "uint8"}};
  for (const auto& log : logs) {
    files.push_back(log.file);
    if (!log.gpu_name.empty()) prof.provenance["gpu_name"] = log.gpu_name;
    if (!log.nccl_version.empty()) prof.provenance["nccl"] = log.nccl_version;
    auto& pts = groups[{log.op, log.ranks}];
    for (const auto& row : log.rows) {
      for (int ip = 0; ip < 2; ++ip) {
        if (!(ip ? row.has_in_place : row.has_out_of_place)) continue;
        const NcclTestsResult& r = ip ? row.in_place : row.out_of_place;
        pts.push_back({row.bytes, r.time_s});
        auto dt = dtype.find(row.type);
        prof.raw.push_back({{"op", log.op}, {"backend", "nccl"}, {"dtype", dt == dtype.end() ? row.type : dt->second},
                            {"shape", {{"bytes", row.bytes}, {"ranks", log.ranks}}}, {"algorithm", algorithm},
                            {"protocol", protocol}, {"time_s", r.time_s}, {"in_place", ip == 1},
                            {"source", log.file + ":" + std::to_string(row.line)}});
      }
    }
  }
  prof.provenance["source"] = "nccl-tests";
  prof.provenance["system"] = opt.system;
  prof.provenance["logs"] = files;
  for (const auto& [key, pts] : groups)
    prof.collectives.push_back(fit_collective(key.first, key.second, algorithm, protocol, pts, opt.folds, opt.seed));
  summarize_held_out(prof);
  return prof;
}

}  // namespace foresight::calibrate
