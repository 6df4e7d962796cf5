// Prints predicted vs measured busbw for the 8x H100 all-reduce validation case (docs/validation.md).
#include <cstdio>

#include <fmt/format.h>

#include "sim/collective_bench/nccl_validation.hpp"

int main(int argc, char** argv) {
  const std::string csv = argc > 1 ? argv[1] : FORESIGHT_VALIDATION_DIR "/nccl_allreduce_h100_1node.csv";
  for (auto f : {foresight::sim::Fidelity::analytical, foresight::sim::Fidelity::flow}) {
    fmt::print("\n{} fidelity\n\n", foresight::sim::fidelity_name(f));
    fmt::print("{}", foresight::sim::format_validation(foresight::sim::validate_nccl_allreduce_h100(csv, f)));
  }
  return 0;
}
