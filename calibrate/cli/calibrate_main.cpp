// foresight-calibrate: run the GPU sweep, fit raw measurements into a profile, import nccl-tests logs,
// show a profile. Every user error is one line on stderr and exit code 2.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "calibrate/fit/fitter.hpp"
#include "calibrate/fit/raw.hpp"
#include "calibrate/import/measured_tables.hpp"
#include "calibrate/import/nccl_tests.hpp"
#include "hwmodels/profile.hpp"
#include "core/error.hpp"

#ifdef FORESIGHT_HAVE_CUDA
#include "calibrate/harness/harness.hpp"
#endif

namespace {

namespace fc = foresight::calibrate;
namespace hw = foresight::hw;

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string describe(const hw::Profile& p) {
  std::string s;
  auto field = [&](const char* key) {
    auto it = p.provenance.find(key);
    return it == p.provenance.end() ? std::string("-") : it->is_string() ? it->get<std::string>() : it->dump();
  };
  s += fmt::format("profile:   {}\n", p.name);
  s += fmt::format("gpu:       {} (SMs {}, gpus {})\n", field("gpu_name"), field("sm_count"), field("gpu_count"));
  s += fmt::format("software:  driver {}, CUDA {}, cuBLASLt {}, cuDNN {}, NCCL {}\n", field("driver"),
                   field("cuda_runtime"), field("cublaslt"), field("cudnn"), field("nccl"));
  s += fmt::format("measured:  {} on {}; {} raw points\n", field("date"), field("host"), p.raw.size());
  return s + fc::held_out_table(p);
}

int run_sweep_command(const std::string& out, bool quick, const std::string& only, double budget_s) {
#ifdef FORESIGHT_HAVE_CUDA
  fc::SweepOptions opt;
  opt.out_path = out;
  opt.quick = quick;
  opt.only = split_commas(only);
  opt.budget_s = budget_s;
  return fc::run_sweep(opt);
#else
  (void)out; (void)quick; (void)only; (void)budget_s;
  std::cerr << "foresight-calibrate was built without CUDA; run it on a GPU machine\n";
  return 2;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"foresight-calibrate: measure kernels on this GPU and fit them into a Foresight profile"};
  app.require_subcommand(1);

  auto* run = app.add_subcommand("run", "time the kernels on this machine's GPUs and write raw measurements");
  std::string run_out, only;
  bool quick = false;
  run->add_option("--out", run_out, "raw measurement file to write")->required();
  run->add_flag("--quick", quick, "a reduced sweep (about a minute)");
  run->add_option("--only", only, "comma-separated op kinds, e.g. gemm,attention");
  double budget_s = 640;
  run->add_option("--budget", budget_s, "wall-clock seconds for all sections (default 640); cases past it are skipped and counted")
      ->check(CLI::Range(10.0, 86400.0));

  auto* fit = app.add_subcommand("fit", "fit raw measurements into a profile; prints held-out error per op kind");
  std::string raw_path, fit_out, name;
  int folds = 5;
  unsigned seed = fc::FitOptions{}.seed;
  fit->add_option("raw", raw_path, "raw.json from `foresight-calibrate run`")->required();
  fit->add_option("--out", fit_out, "profile to write")->required();
  fit->add_option("--folds", folds, "k of the k-fold held-out error")->check(CLI::Range(2, 1000));
  fit->add_option("--seed", seed, "seed of the fold assignment");
  fit->add_option("--name", name, "profile name (default: the output file's stem)");

  auto* imp = app.add_subcommand("import-nccl-tests", "fit collective alpha/beta from nccl-tests logs");
  std::vector<std::string> logs;
  std::string system, imp_out, op, algorithm = "auto", protocol = "auto";
  imp->add_option("logs", logs, "nccl-tests output logs")->required();
  imp->add_option("--system", system, "system id the logs were measured on")->required();
  imp->add_option("--out", imp_out, "profile to write")->required();
  imp->add_option("--op", op, "collective, when neither the log nor its file name says");
  imp->add_option("--algorithm", algorithm, "NCCL_ALGO during the run (default auto)");
  imp->add_option("--protocol", protocol, "NCCL_PROTO during the run (default auto)");
  imp->add_option("--folds", folds, "k of the k-fold held-out error")->check(CLI::Range(2, 1000));

  auto* tab = app.add_subcommand("import-tables", "turn measured kernel tables (foresight-tables/1) into a profile");
  std::string tables_path, tab_out, tab_name, tab_gpu;
  tab->add_option("tables", tables_path, "tables JSON (e.g. from python -m foresight.import_aiconfigurator)")->required();
  tab->add_option("--out", tab_out, "profile to write (.json or .json.gz)")->required();
  tab->add_option("--name", tab_name, "profile name (default: <system>-<framework>)");
  tab->add_option("--gpu", tab_gpu, "catalog GPU id the tables were measured on, e.g. h100-sxm-80gb");
  tab->add_option("--folds", folds, "k of the collectives' k-fold held-out error")->check(CLI::Range(2, 1000));

  auto* aic = app.add_subcommand("import-aiconfigurator",
                                 "import NVIDIA AIConfigurator's measured database (pip install aiconfigurator-core)");
  std::string aic_system, aic_framework = "trtllm", aic_version, aic_out, aic_gpu, aic_python;
  aic->add_option("--system", aic_system, "AIConfigurator system, e.g. h100_sxm")->required();
  aic->add_option("--framework", aic_framework, "kernel family: trtllm, vllm or sglang")
      ->check(CLI::IsMember({"trtllm", "vllm", "sglang"}));
  aic->add_option("--version", aic_version, "framework version (default: the database's current one)");
  aic->add_option("--out", aic_out, "profile to write (.json or .json.gz)")->required();
  aic->add_option("--name", tab_name, "profile name (default: <system>-<framework>)");
  aic->add_option("--gpu", aic_gpu, "catalog GPU id the system's GPU is, e.g. h100-sxm-80gb");
  aic->add_option("--python", aic_python, "Python with aiconfigurator-core and pandas (default: $FORESIGHT_PYTHON or python3)");
  aic->add_option("--folds", folds, "k of the collectives' k-fold held-out error")->check(CLI::Range(2, 1000));

  auto* show = app.add_subcommand("show", "print a profile's provenance, fits and held-out errors");
  std::string show_path;
  show->add_option("profile", show_path, "profile.json")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "foresight-calibrate: " << e.what() << "\n";
    return 2;
  }

  try {
    if (*run) return run_sweep_command(run_out, quick, only, budget_s);
    if (*fit) {
      fc::FitOptions opt;
      opt.folds = folds;
      opt.seed = seed;
      if (name.empty()) {
        std::string stem = fit_out.substr(fit_out.find_last_of('/') + 1);
        name = stem.substr(0, stem.rfind(".json"));
      }
      opt.name = name;
      const hw::Profile p = fc::fit_profile(fc::load_raw(raw_path), opt);
      hw::save_profile(p, fit_out);
      std::cout << fc::held_out_table(p) << "wrote " << fit_out << "\n";
      return 0;
    }
    if (*imp) {
      std::vector<fc::NcclTestsLog> parsed;
      for (const auto& l : logs) parsed.push_back(fc::load_nccl_tests(l, op));
      fc::ImportOptions opt;
      opt.system = system;
      opt.algorithm = algorithm;
      opt.protocol = protocol;
      opt.folds = folds;
      const hw::Profile p = fc::import_nccl_tests(parsed, opt);
      hw::save_profile(p, imp_out);
      for (const auto& c : p.collectives)
        std::cout << fmt::format("{} on {} ranks ({}/{}): alpha = {:.3f} us, beta = {:.2f} GB/s over {}..{} bytes\n",
                                 c.op, c.ranks, c.algorithm, c.protocol, c.alpha_s * 1e6, c.beta_Bps / 1e9,
                                 c.min_bytes, c.max_bytes);
      std::cout << fc::held_out_table(p) << "wrote " << imp_out << "\n";
      return 0;
    }
    if (*tab || *aic) {
      fc::TablesImportOptions opt;
      opt.folds = folds;
      std::string path = tables_path, out = tab_out;
      opt.name = tab_name;
      opt.gpu = tab_gpu;
      std::filesystem::path tmp;
      if (*aic) {
        // The Parquet reading is Python's (pandas/pyarrow); the tables file it writes is imported here.
        tmp = std::filesystem::temp_directory_path() / ("foresight-aic-" + std::to_string(::getpid()) + ".json");
        const char* env = std::getenv("FORESIGHT_PYTHON");
        const std::string py = !aic_python.empty() ? aic_python : env && *env ? env : "python3";
        std::string cmd = "'" + py + "' '" FORESIGHT_AIC_IMPORTER "' --system '" + aic_system + "' --framework '" +
                          aic_framework + "' --out '" + tmp.string() + "'";
        if (!aic_version.empty()) cmd += " --version '" + aic_version + "'";
        for (const std::string* a : std::initializer_list<const std::string*>{&aic_system, &aic_version, &py})
          if (a->find('\'') != std::string::npos) throw foresight::InputError("quotes are not allowed in --system/--version/--python");
        if (std::system(cmd.c_str()) != 0) {
          std::filesystem::remove(tmp);
          std::cerr << "foresight-calibrate: the AIConfigurator import failed (see above)\n";
          return 2;
        }
        path = tmp.string();
        out = aic_out;
        opt.gpu = aic_gpu;
      }
      hw::Profile p = fc::load_and_import_tables(path, opt);
      if (!tmp.empty()) std::filesystem::remove(tmp);
      hw::save_profile(p, out);
      std::cout << fc::tables_error_table(p) << fc::held_out_table(p) << "wrote " << out << "\n";
      return 0;
    }
    if (*show) {
      std::cout << describe(hw::load_profile(show_path));
      return 0;
    }
  } catch (const foresight::InputError& e) {
    std::cerr << "foresight-calibrate: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    // Anything else is still the user's input at the root (e.g. a fit that cannot be made); say it on
    // one line rather than abort.
    std::string msg = e.what();
    for (char& c : msg) if (c == '\n') c = ' ';
    std::cerr << "foresight-calibrate: " << msg << "\n";
    return 2;
  }
  return 2;
}
