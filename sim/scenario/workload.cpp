#include "sim/scenario/workload.hpp"

#include <stdexcept>

namespace foresight::sim {

void WorkloadRegistry::add(std::unique_ptr<Workload> w) {
  if (find(w->kind())) throw std::logic_error("workload kind '" + w->kind() + "' registered twice");
  workloads_.push_back(std::move(w));
}

const Workload* WorkloadRegistry::find(const std::string& kind) const {
  for (const auto& w : workloads_)
    if (w->kind() == kind) return w.get();
  return nullptr;
}

std::vector<std::string> WorkloadRegistry::kinds() const {
  std::vector<std::string> out;
  for (const auto& w : workloads_) out.push_back(w->kind());
  return out;
}

}  // namespace foresight::sim
