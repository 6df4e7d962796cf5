#pragma once
// Compares the simulated 8x H100 all-reduce with the published nccl-tests measurement in
// tests/data/validation/nccl_allreduce_h100_1node.csv (Azure ND H100 v5, NCCL 2.18.5).
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace foresight::sim {

struct ValidationPoint {
  double bytes = 0;
  double measured_busbw = 0;   // bytes/s
  double predicted_busbw = 0;  // bytes/s
  std::string algorithm, protocol;
  double error() const { return predicted_busbw / measured_busbw - 1.0; }
};

std::vector<ValidationPoint> validate_nccl_allreduce_h100(const std::string& csv_path, Fidelity fidelity);
std::string format_validation(const std::vector<ValidationPoint>& points);

}  // namespace foresight::sim
