#pragma once
// A calibration profile: what was measured on which GPU and software stack, the cost models fitted to
// it, how well those models predict points they never saw, and the raw points themselves (so a
// profile can be refitted or audited without the GPU). Schema "foresight-profile/1".
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_input.hpp"
#include "hwmodels/kernel_table.hpp"
#include "hwmodels/profile_error.hpp"

namespace foresight::hw {

inline constexpr const char* kProfileSchema = "foresight-profile/1";
inline constexpr int kProfileSchemaVersion = 1;

// One compute kernel family: (op, backend, dtype, direction). Time is modelled as
//   t = r / e(log r),  r = max(eff_flops / peak_flops, bytes / peak_bandwidth)
// where eff_flops pads the work to whole waves of `tile`-sized CTAs over `sm_count` SMs, and
// e (achieved fraction of that roofline) is piecewise linear in log-log space between `knots`;
// beyond the last knot e is held (fitted roofline), below the first it follows the first segment's
// slope clamped to [0, 1] (fixed costs dominate small kernels).
// Using log r as the abscissa makes "more work is never faster" equivalent to every knot segment
// having slope <= 1, which the fitter enforces.
struct ComputeFit {
  std::string op, backend, dtype, direction;  // direction: "forward"/"backward" for attention, else ""
  double peak_flops = 0;        // FLOP/s reference; 0 = no compute term (memory-bound op)
  double peak_bandwidth = 0;    // bytes/s reference; 0 = no memory term
  int tile = 0;                 // CTA tile edge for wave quantization; 0 = off
  int sm_count = 0;
  std::vector<std::pair<double, double>> knots;  // (log r, log efficiency), strictly increasing x
  double min_log_r = 0, max_log_r = 0;           // calibrated region along the abscissa
  double min_log_intensity = 0, max_log_intensity = 0;  // log(flops/bytes); unused if either is 0
  bool intensity_checked = false;
  int points = 0;
  int monotonicity_adjustments = 0;  // knots lowered so that more work is never predicted faster
  HeldOutError held_out;
};

// Collective time t = alpha + bytes / beta for one (op, ranks, algorithm, protocol). A single
// alpha-beta line cannot follow NCCL's protocol switches and pipelining ramp (NVLS all-reduce reaches
// its bus bandwidth only past ~256 MiB), so the measured (bytes, seconds) table is kept too,
// interpolated linearly in bytes (an alpha-beta segment per interval); whichever of line and table
// predicted held-out sizes >= 1 MiB better is used inside the measured range (use_table).
struct CollectiveFit {
  std::string op, algorithm = "auto", protocol = "auto";
  int ranks = 0;
  double alpha_s = 0, beta_Bps = 0;
  double min_bytes = 0, max_bytes = 0;  // measured range
  int points = 0;
  HeldOutError held_out;
  HeldOutError held_out_large;    // restricted to messages >= 1 MiB (the bandwidth regime)
  std::vector<std::pair<double, double>> table;  // (bytes, seconds), bytes strictly increasing
  HeldOutError table_held_out_large;             // table interpolation, held out, >= 1 MiB
  int monotonicity_adjustments = 0;              // table times raised so more bytes is never faster
  bool use_table = false;
  const HeldOutError& chosen_error() const { return use_table ? table_held_out_large : held_out_large; }
};

struct OpKindError {
  std::string op;
  HeldOutError error;
};

struct Profile {
  std::string name;
  nlohmann::json provenance = nlohmann::json::object();  // copied from the raw file, plus "sweep"
  int folds = 0;
  unsigned seed = 0;
  std::vector<ComputeFit> compute;
  std::vector<CollectiveFit> collectives;
  std::vector<KernelTable> tables;               // measured latency grids (imported databases)
  std::vector<OpKindError> held_out;             // per op kind, over all of its fits
  nlohmann::json raw = nlohmann::json::array();  // the measurements the fits came from

  const ComputeFit* find_compute(const std::string& op, const std::string& dtype,
                                 const std::string& direction = "", const std::string& backend = "") const;
  const CollectiveFit* find_collective(const std::string& op, int ranks, const std::string& algorithm,
                                       const std::string& protocol) const;
  // The table for (op, dtype, kv_dtype) whose keys are closest to `keys` (log distance over shared
  // keys; exact keys first); nullptr if the profile has none for op and dtype.
  const KernelTable* find_table(const std::string& op, const std::string& dtype, const std::string& kv_dtype = "",
                                const std::map<std::string, int64_t>& keys = {}) const;
};

// Our own kernels (backends "foresight-fa2", "foresight-paged"): correct, readable SIMT kernels that
// the harness times to calibrate itself, far slower than the libraries frameworks run.
bool is_reference_backend(const std::string& backend);

// Time of one collective of `bytes`: inside the measured range the line or the table (use_table);
// outside it alpha + bytes/beta, with *extrapolated set (never silently).
double collective_seconds(const CollectiveFit& fit, double bytes, bool* extrapolated);

// NCCL spells algorithms and protocols "Ring", "LL128", users "ring", "ll128": profiles store lower case.
std::string canonical_nccl_name(std::string s);

nlohmann::json profile_to_json(const Profile& p);
// One table as profiles and `foresight-tables/1` files store it (latency in ms, null = not measured).
nlohmann::json kernel_table_to_json(const KernelTable& t);
KernelTable kernel_table_from_json(const JsonInput& in, const nlohmann::json& v, const std::string& key_path);
// `file` names the source in error messages; every error is an InputError naming file and key path.
Profile profile_from_json(const nlohmann::json& j, const std::string& file);
Profile load_profile(const std::string& path);
void save_profile(const Profile& p, const std::string& path);

}  // namespace foresight::hw
