#include "sim/run/training_driver.hpp"

#include <stdexcept>

namespace foresight::sim {

void run_training_scenario(const Scenario&, const hw::Cluster&, CollectiveModel&, const RunOptions&, RunOutput&) {
  throw std::logic_error("training integration pending");
}

}  // namespace foresight::sim
