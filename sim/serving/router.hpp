#pragma once
// Chooses the replica for each arriving request (the routers of the book's Table 17-1):
//   round_robin     in turn
//   least_requests  fewest outstanding (waiting + running) requests
//   least_kv        lowest KV-cache use, counting blocks the queued prompts will need
//   prefix_aware    the longest cached prefix of the request's prompt; ties to the least loaded
//   power_of_two    two replicas drawn at random (seeded), the less loaded of them
//   cost            lowest w1*occupancy + w2*active + w4*mem_bw - w3*cache_match - w5*recent_prefix,
//                   every feature normalised to [0, 1]
#include <cstdint>
#include <deque>
#include <vector>

#include <boost/random/mersenne_twister.hpp>

#include "sim/serving/replica.hpp"
#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

class Router {
 public:
  Router(const ServingSpec& spec, uint64_t seed, int replicas);
  int choose(const Request& r, const std::vector<Replica*>& replicas);

 private:
  double kv_load(const Replica& x) const;
  double cost(const Request& r, const Replica& x, int index) const;

  const ServingSpec& spec_;
  boost::random::mt19937_64 rng_;
  int next_ = 0;
  std::vector<std::deque<uint64_t>> recent_;  // per replica: first-block hashes of the last requests sent
};

}  // namespace foresight::sim
