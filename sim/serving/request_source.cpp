#include "sim/serving/request_source.hpp"

#include <algorithm>
#include <cmath>

#include <boost/random/exponential_distribution.hpp>
#include <boost/random/gamma_distribution.hpp>
#include <boost/random/lognormal_distribution.hpp>
#include <boost/random/uniform_01.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <fmt/format.h>

#include "core/error.hpp"

namespace foresight::sim {

namespace {

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

constexpr int64_t kMaxZipfRange = 1'000'000;

std::vector<double> zipf_cdf(const LengthDist& d) {
  std::vector<double> cdf;
  if (d.dist != "zipf") return cdf;
  const int64_t n = static_cast<int64_t>(d.max - d.min) + 1;
  cdf.reserve(static_cast<size_t>(n));
  double sum = 0;
  for (int64_t k = 1; k <= n; ++k) cdf.push_back(sum += std::pow(double(k), -d.s));
  for (double& c : cdf) c /= sum;
  return cdf;
}

}  // namespace

std::vector<uint64_t> block_hashes(int64_t request_id, int64_t input_tokens, int block_size, int prefix_group,
                                   int64_t prefix_tokens, const std::vector<uint64_t>& trace_hashes) {
  const int64_t blocks = input_tokens / block_size;
  std::vector<uint64_t> out;
  out.reserve(static_cast<size_t>(blocks));
  uint64_t chain = 0x5EED;
  for (int64_t k = 0; k < blocks; ++k) {
    const int64_t end = (k + 1) * block_size;  // one past the block's last token
    uint64_t content;
    const int64_t mooncake_block = (end - 1) / kMooncakeBlockTokens;
    if (prefix_group >= 0 && end <= prefix_tokens) {
      content = mix((uint64_t(prefix_group) + 1) << 32 ^ uint64_t(k));
    } else if (mooncake_block < static_cast<int64_t>(trace_hashes.size()) &&
               k * block_size / kMooncakeBlockTokens == mooncake_block) {
      // Wholly inside one 512-token trace block: the same trace hash means the same tokens.
      content = mix(mix(trace_hashes[static_cast<size_t>(mooncake_block)] + 0x7A11) ^ uint64_t(k));
    } else {
      content = mix(mix(uint64_t(request_id) * 0x100000001B3ULL + 0xD1CE) ^ uint64_t(k));
    }
    chain = mix(chain ^ content);
    out.push_back(chain);
  }
  return out;
}

RequestSource::RequestSource(const ServingSpec& spec, uint64_t seed)
    : spec_(spec), rng_(seed) {
  const auto& w = spec.workload;
  for (const LengthDist* d : {&w.input, &w.output})
    if (d->dist == "zipf" && d->max - d->min + 1 > kMaxZipfRange)
      throw InputError(fmt::format("serving.workload: a zipf length range wider than {} tokens is not supported", kMaxZipfRange));
  zipf_cdf_in_ = zipf_cdf(w.input);
  zipf_cdf_out_ = zipf_cdf(w.output);
  if (w.arrivals.kind == "trace") trace_ = std::make_unique<TraceReader>(w.arrivals.path, w.arrivals.format);
}

int64_t RequestSource::draw_length(const LengthDist& d) {
  if (d.dist == "fixed") return static_cast<int64_t>(d.value);
  if (d.dist == "uniform")
    return boost::random::uniform_int_distribution<int64_t>(int64_t(d.min), int64_t(d.max))(rng_);
  if (d.dist == "lognormal") {
    // `mean` is the mean token count: the underlying normal has mu = ln(mean) - sigma^2 / 2.
    const double mu = std::log(d.mean) - 0.5 * d.sigma * d.sigma;
    const double x = d.sigma > 0 ? boost::random::lognormal_distribution<double>(mu, d.sigma)(rng_) : d.mean;
    return static_cast<int64_t>(std::clamp(std::round(x), d.min, d.max));
  }
  // zipf: rank k over [min, max] with P(k) proportional to k^-s.
  const auto& cdf = &d == &spec_.workload.input ? zipf_cdf_in_ : zipf_cdf_out_;
  const double u = boost::random::uniform_01<double>()(rng_);
  const auto it = std::lower_bound(cdf.begin(), cdf.end(), u);
  return static_cast<int64_t>(d.min) + static_cast<int64_t>(std::min<size_t>(it - cdf.begin(), cdf.size() - 1));
}

double RequestSource::draw_gap() {
  const auto& a = spec_.workload.arrivals;
  if (a.kind == "constant") return 1.0 / a.rate;
  if (a.kind == "gamma") {
    // Inter-arrival times with mean 1/rate and coefficient of variation cv: shape 1/cv^2.
    const double shape = 1.0 / (a.cv * a.cv);
    return boost::random::gamma_distribution<double>(shape, 1.0 / (a.rate * shape))(rng_);
  }
  return boost::random::exponential_distribution<double>(a.rate)(rng_);
}

Request RequestSource::make(double arrival, int64_t input, int64_t output, const std::vector<uint64_t>& trace_hashes) {
  const auto& w = spec_.workload;
  Request r;
  r.id = made_++;
  r.arrival = arrival;
  r.input_tokens = input;
  r.output_tokens = output;
  int group = -1;
  if (w.shared_prefix_fraction > 0 && w.shared_prefix_tokens > 0 &&
      boost::random::uniform_01<double>()(rng_) < w.shared_prefix_fraction)
    group = boost::random::uniform_int_distribution<int>(0, w.shared_prefix_groups - 1)(rng_);
  if (!w.priorities.empty()) {
    double total = 0;
    for (const auto& c : w.priorities) total += c.weight;
    double u = boost::random::uniform_01<double>()(rng_) * total;
    r.priority = w.priorities.back().priority;
    for (const auto& c : w.priorities)
      if ((u -= c.weight) < 0) {
        r.priority = c.priority;
        break;
      }
  }
  if (spec_.scheduler.prefix_caching)
    r.block_hashes = block_hashes(r.id, input, spec_.scheduler.block_size, group, w.shared_prefix_tokens, trace_hashes);
  return r;
}

std::optional<Request> RequestSource::next() {
  const auto& w = spec_.workload;
  if (made_ >= w.requests) return std::nullopt;
  if (trace_) {
    auto row = trace_->next();
    if (!row) return std::nullopt;
    const int64_t in = w.input.dist == "trace" ? row->input : draw_length(w.input);
    const int64_t out = w.output.dist == "trace" ? row->output : draw_length(w.output);
    return make(row->time * w.arrivals.time_scale, in, out, row->hash_ids);
  }
  const double arrival = clock_;
  clock_ += draw_gap();
  const int64_t in = draw_length(w.input);
  const int64_t out = draw_length(w.output);
  return make(arrival, in, out, {});
}

std::optional<Request> RequestSource::next_for(int client, double now) {
  if (made_ >= spec_.workload.requests) return std::nullopt;
  const int64_t in = draw_length(spec_.workload.input);
  const int64_t out = draw_length(spec_.workload.output);
  Request r = make(now, in, out, {});
  r.client = client;
  return r;
}

}  // namespace foresight::sim
