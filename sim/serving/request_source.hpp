#pragma once
// The requests of a serving workload, made one at a time so memory does not grow with the run:
// synthetic (arrival process, length distributions, shared prefixes, priorities, all drawn from
// one seeded generator, the same on every platform) or replayed from a trace.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <boost/random/mersenne_twister.hpp>

#include "sim/serving/request.hpp"
#include "sim/serving/serving_spec.hpp"
#include "sim/serving/trace_reader.hpp"

namespace foresight::sim {

class RequestSource {
 public:
  RequestSource(const ServingSpec& spec, uint64_t seed);

  bool closed_loop() const { return spec_.workload.arrivals.kind == "closed_loop"; }
  // Open loop: the next request with its arrival time, or nullopt when the workload is exhausted.
  std::optional<Request> next();
  // Closed loop: the next request, sent by `client` at `now`; nullopt once all were sent.
  std::optional<Request> next_for(int client, double now);
  int64_t made() const { return made_; }
  int64_t skipped_trace_rows() const { return trace_ ? trace_->skipped() : 0; }

 private:
  Request make(double arrival, int64_t input, int64_t output, const std::vector<uint64_t>& trace_hashes);
  int64_t draw_length(const LengthDist& d);
  double draw_gap();

  const ServingSpec& spec_;
  boost::random::mt19937_64 rng_;
  std::unique_ptr<TraceReader> trace_;
  std::vector<double> zipf_cdf_in_, zipf_cdf_out_;
  int64_t made_ = 0;
  double clock_ = 0;
};

// Chained hashes of a prompt's full KV blocks: equal hashes mean the same tokens from the start.
// A block inside the request's shared prefix hashes the prefix group; a block covered by a trace's
// 512-token hash id hashes that id; anything else is unique to the request.
std::vector<uint64_t> block_hashes(int64_t request_id, int64_t input_tokens, int block_size, int prefix_group,
                                   int64_t prefix_tokens, const std::vector<uint64_t>& trace_hashes);

}  // namespace foresight::sim
