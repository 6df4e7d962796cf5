#pragma once
// Importer for NVIDIA nccl-tests stdout logs (all_reduce_perf, all_gather_perf, ...): the format
// cluster operators already have, turned into the collective part of a Foresight profile.
#include <istream>
#include <string>
#include <vector>

#include "hwmodels/profile.hpp"

namespace foresight::calibrate {

struct NcclTestsResult {
  double time_s = 0;
  double algbw_Bps = 0;   // as printed (GB/s -> bytes/s)
  double busbw_Bps = 0;
  std::string wrong;      // "0", "N/A" (validation off), ...
};

struct NcclTestsRow {
  int line = 0;
  double bytes = 0;
  long long count = 0;
  std::string type, redop;
  long long root = -1;
  NcclTestsResult out_of_place, in_place;
  bool has_out_of_place = false, has_in_place = false;
};

struct NcclTestsLog {
  std::string file;
  std::string op;            // all_reduce | all_gather | reduce_scatter | all_to_all | send_recv
  int ranks = 0;             // number of "#  Rank" device lines
  std::string gpu_name;      // from the device lines
  std::string nccl_version;  // from "nccl-library=" or "NCCL version", when printed
  std::vector<NcclTestsRow> rows;
  double avg_busbw_Bps = 0;  // the "# Avg bus bandwidth" footer, 0 if absent
};

// The collective a binary or log name refers to ("all_reduce_perf", "allgather.log"); "" if none.
std::string nccl_op_from_name(const std::string& name);

// nccl-tests' bus-bandwidth factor for `op` on n ranks (busbw = algbw * factor).
double nccl_busbw_factor(const std::string& op, int ranks);

// `op` overrides detection; otherwise the op comes from a "Collective test starting: X_perf" line or
// the file name. Errors are InputErrors naming file:line and the column or header item at fault.
NcclTestsLog parse_nccl_tests(std::istream& in, const std::string& file, const std::string& op = "");
NcclTestsLog load_nccl_tests(const std::string& path, const std::string& op = "");

struct ImportOptions {
  std::string system;              // profile name, e.g. "dgx-h100"
  std::string algorithm = "auto";  // what NCCL_ALGO / NCCL_PROTO were during the run
  std::string protocol = "auto";
  int folds = 5;
  unsigned seed = 20260401;
};

// One alpha-beta fit per (op, ranks) over all rows of all logs; out-of-place and in-place timings
// are both used as samples of the same size.
hw::Profile import_nccl_tests(const std::vector<NcclTestsLog>& logs, const ImportOptions& opt);

}  // namespace foresight::calibrate
