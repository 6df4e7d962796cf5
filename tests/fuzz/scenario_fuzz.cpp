// libFuzzer target for the scenario loader: any input must either load or raise InputError; a
// crash, an abort, a hang or any other exception is a bug. Build with
//   CXX=clang++ cmake -S . -B build-fuzz -DFORESIGHT_BUILD_FUZZ=ON && cmake --build build-fuzz --target scenario_fuzz
//   ./build-fuzz/tests/fuzz/scenario_fuzz tests/fuzz/corpus -max_total_time=60
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "sim/scenario/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    foresight::sim::load_scenario_text(text, "fuzz.yaml");
  } catch (const foresight::InputError&) {
  }
  return 0;
}
