#include "hwmodels/profile_library.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

namespace foresight::hw {

namespace fs = std::filesystem;

const std::vector<std::string>& kernel_families() {
  static const std::vector<std::string> f{"trtllm", "vllm", "sglang"};
  return f;
}

std::vector<std::string> profile_search_path() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("FORESIGHT_PROFILE_PATH")) {
    std::string s = env;
    size_t start = 0;
    while (start <= s.size()) {
      const size_t end = s.find(':', start);
      const std::string d = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!d.empty()) dirs.push_back(d);
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
#ifdef FORESIGHT_PROFILE_DIR
  dirs.push_back(FORESIGHT_PROFILE_DIR);
#endif
  return dirs;
}

std::optional<std::string> find_profile(const std::string& gpu_id, const std::string& family) {
  for (const auto& dir : profile_search_path())
    for (const char* ext : {".json.gz", ".json"}) {
      const fs::path p = fs::path(dir) / (gpu_id + "-" + family + ext);
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) return p.string();
    }
  return std::nullopt;
}

std::vector<ProfileEntry> list_profiles() {
  std::vector<ProfileEntry> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& dir : profile_search_path()) {
    std::error_code ec;
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir, ec)) names.insert(e.path().filename().string());
    for (const auto& name : names) {
      std::string stem = name;
      for (const char* ext : {".json.gz", ".json"}) {
        const std::string x = ext;
        if (stem.size() > x.size() && stem.compare(stem.size() - x.size(), x.size(), x) == 0) {
          stem.resize(stem.size() - x.size());
          break;
        }
      }
      if (stem == name) continue;
      for (const auto& f : kernel_families()) {
        const std::string suffix = "-" + f;
        if (stem.size() > suffix.size() && stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0) {
          const std::string gpu = stem.substr(0, stem.size() - suffix.size());
          if (seen.insert({gpu, f}).second) out.push_back({gpu, f, (fs::path(dir) / name).string()});
        }
      }
    }
  }
  return out;
}

CalibrationChoice choose_calibration(const std::string& c, const std::string& gpu_id, const std::string& auto_family) {
  const auto& families = kernel_families();
  if (c == "roofline") return {"", "calibration: roofline"};
  if (c == "auto" || std::find(families.begin(), families.end(), c) != families.end()) {
    const std::string family = c == "auto" ? auto_family : c;
    if (family.empty()) return {"", "calibration: auto; this workload prices no kernels"};
    if (auto path = find_profile(gpu_id, family))
      return {*path, "calibration: " + c + "; " + family + " kernels measured on " + gpu_id};
    return {"", "calibration: " + c + "; no measured profile for " + gpu_id + " with " + family +
                    " kernels, roofline instead"};
  }
  return {c, "calibration: " + c};
}

std::shared_ptr<const Profile> load_profile_cached(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Profile>> cache;
  std::error_code ec;
  const std::string key = fs::weakly_canonical(path, ec).string();
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(ec ? path : key);
    if (it != cache.end()) return it->second;
  }
  auto p = std::make_shared<const Profile>(load_profile(path));  // outside the lock: parsing takes a while
  std::lock_guard<std::mutex> lock(mu);
  return cache.emplace(ec ? path : key, std::move(p)).first->second;
}

}  // namespace foresight::hw
