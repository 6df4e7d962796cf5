#pragma once
// What a serving run measured, kept as summaries so memory does not grow with the requests that
// have finished: exact counts, sums and time integrals, latency percentiles from 0.1 %-wide
// histograms, and (optionally) one CSV row per request streamed to a file.
//   TTFT  arrival -> first output token (queueing and prefill included)
//   TPOT  a request's mean gap between consecutive output tokens; ITL: every individual gap
//   E2E   arrival -> last token;  goodput: requests meeting both the TTFT and the TPOT SLO
//   TTFT breakdown, parts that sum to it: queue (arrival -> first scheduled for prefill), prefill
//   (-> prompt computed; colocated: -> first token), and when disaggregated kv_wait (-> its KV
//   transfer started, waiting for decode blocks), kv_transfer (-> KV landed; only the part not
//   overlapped with the prefill when layer-wise) and first_decode (-> first token on the decode worker)
#include <cstdint>
#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/metrics/log_histogram.hpp"
#include "sim/serving/replica.hpp"
#include "sim/serving/request.hpp"
#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

struct TtftParts {
  double queue = 0, prefill = 0, kv_wait = 0, kv_transfer = 0, first_decode = 0;
};
TtftParts ttft_parts(const Request& r);   // r has its first token

class ServingMetrics {
 public:
  // `requests_csv`: where to stream one row per request; empty for none.
  ServingMetrics(const ServingSpec& spec, const std::string& requests_csv);

  void arrived(const Request& r, double now);
  void rejected(const Request& r, const std::string& reason, double now);
  void first_token(const Request& r, double now);
  void token_gap(double gap) { itl_.add(gap); }
  void finished(const Request& r, double now);
  void step(const Step& step, const Replica& replica, double start, double end);
  void close();   // flushes the CSV; a failed write is an InputError

  int64_t arrivals() const { return arrived_; }
  int64_t completed() const { return completed_; }
  int64_t rejected_count() const { return rejected_; }
  double attainment() const;
  double goodput() const;          // requests/s meeting both SLOs over the run
  double span() const { return last_finish_ > first_arrival_ ? last_finish_ - first_arrival_ : 0.0; }
  double mean_in_system() const;   // time average of requests admitted and not finished
  const LogHistogram& e2e() const { return e2e_; }
  const LogHistogram& ttft() const { return ttft_; }
  const LogHistogram& tpot() const { return tpot_; }
  const LogHistogram& itl() const { return itl_; }

  // The `serving` section's measurements (the driver adds configuration and provenance).
  nlohmann::json to_json(int gpus) const;

 private:
  void move_clock(double now);

  const ServingSpec& spec_;
  std::ofstream csv_;
  std::string csv_path_;
  LogHistogram ttft_, tpot_, itl_, e2e_, batch_seqs_, batch_tokens_;
  LogHistogram queue_, prefill_, kv_wait_, kv_transfer_, first_decode_;   // TTFT's parts
  int64_t arrived_ = 0, completed_ = 0, rejected_ = 0, meeting_slo_ = 0, in_system_ = 0;
  int64_t input_tokens_ = 0, output_tokens_ = 0, cached_tokens_ = 0, preempted_requests_ = 0;
  std::map<std::string, int64_t> reject_reasons_;
  double first_arrival_ = -1, last_finish_ = 0, clock_ = 0, area_ = 0;
  int64_t steps_ = 0;
  double kv_util_sum_ = 0, kv_util_peak_ = 0, busy_time_ = 0;
};

}  // namespace foresight::sim
