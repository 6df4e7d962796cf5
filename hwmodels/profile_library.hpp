#pragma once
// Where profiles live and how a scenario finds the one for its GPU and kernel family. Shipped
// profiles are hwmodels/profiles/<gpu>-<family>.json.gz (imported from measured databases); more
// directories can be put ahead of them with FORESIGHT_PROFILE_PATH (colon-separated). Profiles are
// loaded once per process: a notebook sweeping thousands of scenarios parses each file once.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hwmodels/profile.hpp"

namespace foresight::hw {

// The kernel families profiles are keyed by (the framework whose kernels were measured).
const std::vector<std::string>& kernel_families();

std::vector<std::string> profile_search_path();

// The profile file for (catalog GPU id, family) on the search path, if any.
std::optional<std::string> find_profile(const std::string& gpu_id, const std::string& family);

struct ProfileEntry {
  std::string gpu, family, path;
};
// Every <gpu>-<family>.json[.gz] on the search path (first occurrence of each pair wins).
std::vector<ProfileEntry> list_profiles();

// What `calibration:` (auto | roofline | trtllm | vllm | sglang | a profile file) means for a GPU:
// the profile file to use (empty: roofline) and a sentence saying why. `auto_family` is the kernel
// family `auto` stands for (the workload's; empty when it prices no kernels).
struct CalibrationChoice {
  std::string profile_path;
  std::string why;
};
CalibrationChoice choose_calibration(const std::string& calibration, const std::string& gpu_id,
                                     const std::string& auto_family);

// load_profile, cached by path for the life of the process (thread-safe).
std::shared_ptr<const Profile> load_profile_cached(const std::string& path);

}  // namespace foresight::hw
