#include "calibrate/import/measured_tables.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "calibrate/fit/alpha_beta.hpp"
#include "calibrate/fit/fitter.hpp"
#include "core/error.hpp"
#include "core/json_input.hpp"

namespace foresight::calibrate {

using nlohmann::json;

hw::Profile import_tables(const json& doc, const std::string& file, const TablesImportOptions& opt) {
  JsonInput in(file);
  in.expect_object(doc, "<root>");
  in.check_schema(doc, "foresight-tables", 1);
  in.only_keys(doc, "", {"schema", "provenance", "tables", "collectives"});
  hw::Profile p;
  p.folds = opt.folds;
  p.seed = opt.seed;
  p.provenance = in.object(doc, "", "provenance");
  if (!opt.gpu.empty()) p.provenance["gpu"] = opt.gpu;
  p.name = opt.name;
  if (p.name.empty()) {
    auto field = [&](const char* k) {
      auto it = p.provenance.find(k);
      return it != p.provenance.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    p.name = field("system") + (field("framework").empty() ? "" : "-" + field("framework"));
    if (p.name.empty()) in.fail("provenance", "says neither system nor framework; pass --name");
  }
  const json& tables = in.array(doc, "", "tables");
  for (size_t i = 0; i < tables.size(); ++i) {
    hw::KernelTable t = hw::kernel_table_from_json(in, tables[i], JsonInput::index("tables", i));
    t.held_out = hw::table_held_out_error(t);
    p.tables.push_back(std::move(t));
  }
  if (doc.contains("collectives")) {
    const json& coll = in.array(doc, "", "collectives");
    for (size_t i = 0; i < coll.size(); ++i) {
      const std::string cp = JsonInput::index("collectives", i);
      const json& c = coll[i];
      in.expect_object(c, cp);
      in.only_keys(c, cp, {"op", "ranks", "algorithm", "protocol", "points"});
      const std::string op = in.string(c, cp, "op");
      const long long ranks = in.integer(c, cp, "ranks");
      if (ranks < 2) in.fail(JsonInput::join(cp, "ranks"), "a collective needs at least 2 ranks");
      const std::string algorithm = c.contains("algorithm") ? in.string(c, cp, "algorithm") : "auto";
      const std::string protocol = c.contains("protocol") ? in.string(c, cp, "protocol") : "auto";
      std::vector<SizedTime> pts;
      const json& points = in.array(c, cp, "points");
      for (size_t k = 0; k < points.size(); ++k) {
        const std::string pp = JsonInput::index(JsonInput::join(cp, "points"), k);
        const json& pt = points[k];
        if (!pt.is_array() || pt.size() != 2 || !pt[0].is_number() || !pt[1].is_number() ||
            !(pt[0].get<double>() > 0) || !(pt[1].get<double>() > 0))
          in.fail(pp, "expected [bytes, seconds], both positive");
        pts.push_back({pt[0].get<double>(), pt[1].get<double>()});
      }
      if (pts.size() < 2) in.fail(JsonInput::join(cp, "points"), "needs at least 2 measured sizes");
      p.collectives.push_back(fit_collective(op, static_cast<int>(ranks), hw::canonical_nccl_name(algorithm),
                                             hw::canonical_nccl_name(protocol), pts, opt.folds, opt.seed));
    }
  }
  if (p.tables.empty() && p.collectives.empty()) in.fail("tables", "no tables and no collectives to import");
  summarize_held_out(p);   // tables' held-out error is their op's (fitter.cpp)
  return p;
}

hw::Profile load_and_import_tables(const std::string& path, const TablesImportOptions& opt) {
  JsonInput in(path);
  return import_tables(in.parse_file(path), path, opt);
}

std::string tables_error_table(const hw::Profile& p) {
  // Per (op, dtype): how many tables and cells, and the held-out error pooled over their interior cells.
  struct Acc {
    int tables = 0;
    size_t cells = 0;
    std::vector<double> apes;
  };
  std::map<std::string, Acc> by;
  for (const auto& t : p.tables) {
    Acc& a = by[t.op + " " + t.dtype + (t.kv_dtype.empty() ? "" : " kv " + t.kv_dtype)];
    ++a.tables;
    a.cells += t.size();
    std::vector<double> apes;
    hw::table_held_out_error(t, &apes);
    a.apes.insert(a.apes.end(), apes.begin(), apes.end());
  }
  std::string s = fmt::format("{:<32} {:>6} {:>8} {:>8} {:>10} {:>10}\n", "table (op dtype)", "tables", "cells",
                              "held out", "median", "mean");
  for (auto& [k, a] : by) {
    std::string med = "n/a", mean = "n/a";
    if (!a.apes.empty()) {
      std::sort(a.apes.begin(), a.apes.end());
      double sum = 0;
      for (double x : a.apes) sum += x;
      med = fmt::format("{:.2f} %", 100 * a.apes[a.apes.size() / 2]);
      mean = fmt::format("{:.2f} %", 100 * sum / a.apes.size());
    }
    s += fmt::format("{:<32} {:>6} {:>8} {:>8} {:>10} {:>10}\n", k, a.tables, a.cells, a.apes.size(), med, mean);
  }
  return s;
}

}  // namespace foresight::calibrate
