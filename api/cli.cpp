// The `foresight` command line: a thin shell over the library, shared by the `foresight` executable
// and the Python package's console entry point. Every input problem is one line on stderr and exit
// code 2.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/cli.hpp"
#include "api/cost_query.hpp"
#include "api/foresight_api.hpp"
#include "core/error.hpp"
#include "core/text_file.hpp"

namespace foresight::api {

namespace {

// CSV field: quoted when it holds a separator, quote or newline.
std::string csv_field(const nlohmann::json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

void flatten(const std::string& prefix, const nlohmann::json& v, nlohmann::json& out) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) flatten(prefix.empty() ? it.key() : prefix + "." + it.key(), *it, out);
  } else if (!v.is_array()) {
    out[prefix] = v;
  }
}

// Flat rows of a result: one per collective (benches) or one per run (training).
void write_csv(const nlohmann::json& doc, const std::string& path) {
  std::vector<nlohmann::json> rows;
  if (doc.contains("collectives")) {
    for (const auto& r : doc["collectives"]) rows.push_back(r);
  } else if (doc.contains("training")) {
    nlohmann::json flat = nlohmann::json::object();
    flatten("", doc["training"], flat);
    rows.push_back(flat);
  }
  std::vector<std::string> columns{"scenario"};
  for (const auto& r : rows)
    for (auto it = r.begin(); it != r.end(); ++it)
      if (std::find(columns.begin(), columns.end(), it.key()) == columns.end()) columns.push_back(it.key());
  std::ofstream out(path);
  if (!out) throw InputError(SourceLocation{path, 0, 0}, "", "cannot write the CSV file");
  for (size_t i = 0; i < columns.size(); ++i) out << (i ? "," : "") << csv_field(columns[i]);
  out << "\n";
  for (const auto& r : rows) {
    for (size_t i = 0; i < columns.size(); ++i) {
      const auto& c = columns[i];
      out << (i ? "," : "") << (c == "scenario" ? csv_field(doc["scenario"]) : r.contains(c) ? csv_field(r[c]) : "");
    }
    out << "\n";
  }
  out.flush();  // a full disk shows only when the buffer is written
  if (!out) throw InputError(SourceLocation{path, 0, 0}, "", "error while writing the CSV file");
}

}  // namespace

int cli_main(int argc, char** argv) {
  CLI::App app{"Foresight: predict GPU-cluster training, serving and collective performance by simulation"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "print the version and the git revision it was built from");

  std::string scenario_path;
  std::vector<std::string> overrides;
  std::vector<std::string> catalog_files;
  bool as_json = false;
  RunRequest request;
  std::string csv_path;
  auto* run = app.add_subcommand("run", "Simulate a scenario (the built-in default when no file is given)");
  run->add_option("scenario", scenario_path, "scenario YAML file (- reads standard input)");
  run->add_option("--set", overrides, "override a scenario key: dotted.path=value (repeatable)");
  run->add_flag("--json", as_json, "print the JSON document instead of the report");
  std::string json_out;
  run->add_option("--json-out", json_out, "also write the JSON document to this file");
  run->add_option("--trace", request.trace_path, "write a Perfetto/Chrome trace of the simulated timeline");
  run->add_option("--trace-detail", request.trace_detail,
                  "training traces: ops (every kernel and collective), layers (one slice per layer and pass) or "
                  "passes (one slice per microbatch pass)")
      ->check(CLI::IsMember({"ops", "layers", "passes"}));
  run->add_option("--profile", request.profile_path, "calibrated profile JSON (default: datasheet roofline)");
  run->add_option("--max-memory", request.max_memory,
                  "memory a run may plan to use, e.g. 8GiB (default: $FORESIGHT_MAX_MEMORY, else 80 % of available "
                  "memory); plans estimated over it stop at once with the keys to change");
  run->add_option("--requests", request.requests_path, "serving: write one CSV row per request to this file");
  run->add_option("--max-rate", request.max_rate,
                  "serving: also find the highest arrival rate at which this fraction of requests meets the SLO (e.g. 0.9)")
      ->check(CLI::Range(0.0, 1.0));
  // nccl-tests' size flags for collective benches: -b 8 -e 8G -f 2 (K/M/G are powers of 1024).
  std::string min_bytes, max_bytes, step_factor;
  run->add_option("-b,--minbytes", min_bytes, "collective bench: smallest size, nccl-tests style (8, 1K, 128M, 8G)");
  run->add_option("-e,--maxbytes", max_bytes, "collective bench: largest size");
  run->add_option("-f,--stepfactor", step_factor, "collective bench: size multiplication factor");
  run->add_option("--csv", csv_path, "also write flat rows (one per collective, or one per training run; serving: "
                                      "one per request) to this CSV file");
  run->add_option("--catalog", catalog_files, "a catalog YAML file of your own GPUs, systems, NICs, switches or models "
                                              "(repeatable; every number needs its source)");

  bool catalog_as_json = false;
  auto* catalog = app.add_subcommand("catalog", "List the hardware catalog with sources");
  catalog->add_flag("--json", catalog_as_json, "print JSON");
  catalog->add_option("--catalog", catalog_files, "add a catalog YAML file of your own (repeatable)");

  // foresight cost <op>: one operation's time and where it came from.
  auto* cost = app.add_subcommand("cost", "Time of one GEMM, attention kernel, memory op or collective, and its source");
  cost->require_subcommand(1);
  CostRequest cost_req;
  bool cost_json = false;
  std::string profile_file;
  nlohmann::json shape = nlohmann::json::object();
  // Flags fill `shape` under the names the API takes; unset flags stay absent (the API's defaults).
  auto int_flag = [&](CLI::App* c, const std::string& flag, const std::string& key, const std::string& help, bool req) {
    auto* o = c->add_option_function<long long>(flag, [&shape, key](long long v) { shape[key] = v; }, help);
    if (req) o->required();
  };
  auto str_flag = [&](CLI::App* c, const std::string& flag, const std::string& key, const std::string& help) {
    c->add_option_function<std::string>(flag, [&shape, key](const std::string& v) { shape[key] = v; }, help);
  };
  auto common = [&](CLI::App* c, bool gpu) {
    if (gpu)
      c->add_option("--gpu", cost_req.gpu, "catalog GPU id, e.g. h100-sxm-80gb")->required();
    else
      c->add_option("--system", cost_req.system, "catalog system id, e.g. dgx-h100")->required();
    c->add_option("--calibration", cost_req.calibration,
                  "auto (the GPU's vllm-kernel profile), roofline, trtllm, vllm, sglang or a profile file");
    c->add_option("--profile", profile_file, "a profile file (same as --calibration FILE)");
    c->add_option("--catalog", catalog_files, "add a catalog YAML file of your own (repeatable)");
    c->add_flag("--json", cost_json, "print JSON");
  };
  auto* c_gemm = cost->add_subcommand("gemm", "C[m,n] = A[m,k] B[k,n]");
  common(c_gemm, true);
  int_flag(c_gemm, "--m", "m", "rows of A and C", true);
  int_flag(c_gemm, "--n", "n", "columns of B and C", true);
  int_flag(c_gemm, "--k", "k", "the reduction dimension", true);
  int_flag(c_gemm, "--batch", "batch", "independent GEMMs of this shape (default 1)", false);
  str_flag(c_gemm, "--dtype", "dtype", "bf16 (default), fp16, fp8, fp8_block, fp4, tf32, fp32");
  auto* c_att = cost->add_subcommand("attention", "fused (flash) attention, forward or backward");
  common(c_att, true);
  int_flag(c_att, "--batch", "batch", "sequences (default 1)", false);
  int_flag(c_att, "--seq-q", "seq_q", "query tokens per sequence", true);
  int_flag(c_att, "--seq-kv", "seq_kv", "key tokens per sequence (default seq-q; more: a chunk after cached context)", false);
  int_flag(c_att, "--heads", "heads", "query heads (per GPU)", true);
  int_flag(c_att, "--kv-heads", "kv_heads", "key/value heads (default: heads)", false);
  int_flag(c_att, "--head-dim", "head_dim", "head dimension", true);
  c_att->add_flag_function("--backward", [&](int64_t) { shape["backward"] = true; }, "the backward pass");
  c_att->add_flag_function("--no-causal", [&](int64_t) { shape["causal"] = false; }, "no causal mask");
  auto* c_dec = cost->add_subcommand("decode-attention", "one decode step's paged attention over a batch");
  common(c_dec, true);
  int_flag(c_dec, "--batch", "batch", "sequences in the step (default 1)", false);
  int_flag(c_dec, "--context", "context", "KV length of each sequence", true);
  int_flag(c_dec, "--heads", "heads", "query heads (per GPU)", true);
  int_flag(c_dec, "--kv-heads", "kv_heads", "key/value heads (default: heads)", false);
  int_flag(c_dec, "--head-dim", "head_dim", "head dimension", true);
  str_flag(c_dec, "--kv-dtype", "kv_dtype", "KV cache dtype: bf16 (default) or fp8");
  auto* c_mem = cost->add_subcommand("memory", "a memory-bound op (norm, activation, copy, optimizer step)");
  common(c_mem, true);
  c_mem->add_option_function<double>("--bytes", [&](double v) { shape["bytes"] = v; }, "bytes read + written")->required();
  c_mem->add_option_function<double>("--flops", [&](double v) { shape["flops"] = v; }, "FLOPs (default 0)");
  str_flag(c_mem, "--op", "op", "op name, e.g. rmsnorm (default copy)");
  auto* c_coll = cost->add_subcommand("collective", "one NCCL collective over the first `ranks` GPUs of a system");
  common(c_coll, false);
  str_flag(c_coll, "--op", "op", "all_reduce (default), all_gather, reduce_scatter, all_to_all, broadcast, reduce, send_recv");
  c_coll->add_option_function<double>("--bytes", [&](double v) { shape["bytes"] = v; }, "message size in bytes")->required();
  int_flag(c_coll, "--ranks", "ranks", "GPUs in the communicator", true);
  str_flag(c_coll, "--algorithm", "algorithm", "auto (default), ring, tree, nvls, hierarchical, direct");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (show_version) {
    std::cout << "foresight " << version() << (git_revision().empty() ? "" : " (" + git_revision() + ")") << "\n";
    return 0;
  }
  if (app.get_subcommands().empty()) {
    std::cerr << app.help() << "error: a subcommand is required (run, cost, catalog; search and plan are in the Python package: python -m foresight plan ...)\n";
    return 2;
  }

  try {
    if (*catalog) {
      std::cout << (catalog_as_json ? api::catalog_json(catalog_files) : api::catalog_table(catalog_files));
      return 0;
    }
    if (*cost) {
      for (auto* sub : cost->get_subcommands())
        if (*sub) cost_req.op = sub->get_name() == "decode-attention" ? "decode_attention" : sub->get_name();
      if (!profile_file.empty()) cost_req.calibration = profile_file;
      cost_req.catalog_files = catalog_files;
      cost_req.shapes_json = nlohmann::json::array({shape}).dump();
      const auto doc = nlohmann::json::parse(api::cost(cost_req));
      const auto& r = doc["results"][0];
      if (cost_json) {
        nlohmann::json one = r;
        one["calibration"] = doc["calibration"];
        std::cout << one.dump(2) << "\n";
        return 0;
      }
      std::string rate;
      if (r.contains("tflops")) rate = fmt::format("{:.1f} TFLOP/s", r["tflops"].get<double>());
      if (r.contains("gbps")) rate = fmt::format("{:.0f} GB/s", r["gbps"].get<double>());
      if (r.contains("busbw_gbps")) rate = fmt::format("busbw {:.1f} GB/s, {} {}", r["busbw_gbps"].get<double>(),
                                                      r["algorithm"].get<std::string>(), r["protocol"].get<std::string>());
      std::cout << fmt::format("{} {}: {:.4g} us, {} ({}{})\n", cost_req.op, shape.dump(), r["seconds"].get<double>() * 1e6,
                               rate, r["source"].get<std::string>(),
                               r["extrapolated"].get<bool>() ? ", outside the measured region" : "");
      if (r.contains("measured"))
        std::cout << fmt::format("  measured: {:.4g} us, busbw {:.1f} GB/s ({}{})\n",
                                 r["measured"]["seconds"].get<double>() * 1e6, r["measured"]["busbw_gbps"].get<double>(),
                                 r["measured"]["source"].get<std::string>(),
                                 r["measured"]["extrapolated"].get<bool>() ? ", outside the measured sizes" : "");
      std::cout << doc["calibration"]["why"].get<std::string>() << "\n";
      return 0;
    }
    request.scenario_path = scenario_path;
    if (scenario_path.empty()) {
      request.scenario_text = default_scenario_text();
      request.scenario_name = "<built-in default scenario>";
    } else if (scenario_path == "-") {
      // A scenario piped in (generated by a script), bounded like a file.
      request.scenario_path.clear();
      request.scenario_name = "<stdin>";
      char chunk[1 << 16];
      while (std::cin.read(chunk, sizeof chunk) || std::cin.gcount() > 0) {
        request.scenario_text.append(chunk, static_cast<size_t>(std::cin.gcount()));
        if (request.scenario_text.size() > kMaxInputFileBytes)
          throw InputError(SourceLocation{"<stdin>", 0, 0}, "",
                           fmt::format("input is limited to {} MiB", kMaxInputFileBytes >> 20));
      }
    }
    auto nccl_size = [](const std::string& v) {
      if (v.empty()) return v;
      const char last = v.back();
      if (last == 'K' || last == 'k') return v.substr(0, v.size() - 1) + "KiB";
      if (last == 'M' || last == 'm') return v.substr(0, v.size() - 1) + "MiB";
      if (last == 'G' || last == 'g') return v.substr(0, v.size() - 1) + "GiB";
      if (last == 'T' || last == 't') return v.substr(0, v.size() - 1) + "TiB";
      return std::isdigit(static_cast<unsigned char>(last)) ? v + "B" : v;
    };
    if (!min_bytes.empty()) overrides.push_back("workload.sizes.min=" + nccl_size(min_bytes));
    if (!max_bytes.empty()) overrides.push_back("workload.sizes.max=" + nccl_size(max_bytes));
    if (!step_factor.empty()) overrides.push_back("workload.sizes.factor=" + step_factor);
    request.overrides = overrides;
    request.catalog_files = catalog_files;
    const bool serving_csv = !csv_path.empty() && request.requests_path.empty() &&
                             nlohmann::json::parse(inspect_json(request))["workload"] == "serving";
    if (serving_csv) request.requests_path = csv_path;
    // A status line on a terminal for long runs (never in pipes or logs).
    bool shown = false;
    if (isatty(2))
      request.progress = [&shown](double done, double total, const std::string& what) {
        if (done >= total) {
          if (shown) std::cerr << "\r\033[K" << std::flush;
          return;
        }
        shown = true;
        std::cerr << fmt::format("\r  simulating: {:.0f} of {:.0f} {} ({:.0f} %)", done, total, what,
                                 total > 0 ? 100 * done / total : 0.0)
                  << std::flush;
      };
    const auto out = api::run(request);
    if (!csv_path.empty() && !serving_csv) write_csv(nlohmann::json::parse(out.json), csv_path);
    if (!json_out.empty()) {
      std::ofstream f(json_out);
      f << out.json << "\n";
      f.flush();
      if (!f) throw InputError(SourceLocation{json_out, 0, 0}, "--json-out", "cannot write the JSON file");
    }
    if (as_json)
      std::cout << out.json << "\n";
    else
      std::cout << out.report;
    return 0;
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace foresight::api
