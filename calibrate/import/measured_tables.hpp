#pragma once
// Importer for measured kernel tables ("foresight-tables/1"): latency grids of GEMM and attention
// kernels and collective timings measured elsewhere (NVIDIA AIConfigurator's database, written by
// python/foresight/import_aiconfigurator.py), turned into a Foresight profile. Tables are kept as
// grids (the profile interpolates them); collectives are fitted like our own sweeps'.
#include <string>

#include "hwmodels/profile.hpp"

namespace foresight::calibrate {

struct TablesImportOptions {
  std::string name;      // profile name; default: the tables' system and framework
  std::string gpu;       // Foresight catalog GPU id the tables were measured on (recorded in provenance)
  int folds = 5;
  unsigned seed = 20260401;
};

// Every error is an InputError naming the file and key path ("tables[3].latency_ms[17]").
hw::Profile import_tables(const nlohmann::json& doc, const std::string& file, const TablesImportOptions& opt);
hw::Profile load_and_import_tables(const std::string& path, const TablesImportOptions& opt);

// Held-out error of every table, summarised per op (median over cells, as the goal states).
std::string tables_error_table(const hw::Profile& p);

}  // namespace foresight::calibrate
