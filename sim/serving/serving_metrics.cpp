#include "sim/serving/serving_metrics.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"

namespace foresight::sim {

TtftParts ttft_parts(const Request& r) {
  TtftParts t;
  const double scheduled = r.scheduled >= 0 ? r.scheduled : r.arrival;
  t.queue = scheduled - r.arrival;
  if (r.prefill_done < 0) {
    t.prefill = r.first_token - scheduled;
    return t;
  }
  t.prefill = r.prefill_done - scheduled;
  const double started = std::max(r.kv_started, r.prefill_done);
  t.kv_wait = started - r.prefill_done;
  t.kv_transfer = r.kv_arrived - started;
  t.first_decode = r.first_token - r.kv_arrived;
  return t;
}

ServingMetrics::ServingMetrics(const ServingSpec& spec, const std::string& requests_csv)
    : spec_(spec), csv_path_(requests_csv) {
  if (requests_csv.empty()) return;
  csv_.open(requests_csv);
  if (!csv_) throw InputError(SourceLocation{requests_csv, 0, 0}, "--requests", "cannot write the requests file");
  csv_ << "id,replica,priority,arrival_s,first_token_s,finish_s,input_tokens,output_tokens,cached_tokens,preemptions,"
          "ttft_s,tpot_s,e2e_s,meets_slo,rejected,queue_s,prefill_s,kv_wait_s,kv_transfer_s,first_decode_s,"
          "prefill_replica,kv_bytes\n";
}

void ServingMetrics::move_clock(double now) {
  if (now > clock_) {
    area_ += double(in_system_) * (now - clock_);
    clock_ = now;
  }
}

void ServingMetrics::arrived(const Request&, double now) {
  move_clock(now);
  ++arrived_;
  ++in_system_;  // until it finishes or is rejected
  if (first_arrival_ < 0) first_arrival_ = now;
}

void ServingMetrics::rejected(const Request& r, const std::string& reason, double now) {
  move_clock(now);
  --in_system_;
  ++rejected_;
  ++reject_reasons_[reason];
  if (csv_.is_open())
    csv_ << fmt::format("{},{},{},{:.9g},,,{},{},0,0,,,,0,{},,,,,,,\n", r.id, r.replica, r.priority, r.arrival, r.input_tokens,
                        r.output_tokens, reason);
}

void ServingMetrics::first_token(const Request& r, double now) {
  ttft_.add(now - r.arrival);
  const TtftParts t = ttft_parts(r);
  queue_.add(t.queue);
  prefill_.add(t.prefill);
  if (r.prefill_done >= 0) {
    kv_wait_.add(t.kv_wait);
    kv_transfer_.add(t.kv_transfer);
    first_decode_.add(t.first_decode);
  }
}

void ServingMetrics::finished(const Request& r, double now) {
  move_clock(now);
  --in_system_;
  ++completed_;
  last_finish_ = std::max(last_finish_, now);
  const double e2e = now - r.arrival;
  e2e_.add(e2e);
  const double ttft = r.first_token - r.arrival;
  const bool has_tpot = r.generated > 1;
  const double tpot = has_tpot ? r.itl_sum / double(r.generated - 1) : 0.0;
  if (has_tpot) tpot_.add(tpot);
  const bool meets = ttft <= spec_.slo.ttft_s && (!has_tpot || tpot <= spec_.slo.tpot_s);
  meeting_slo_ += meets;
  input_tokens_ += r.input_tokens;
  output_tokens_ += r.generated;
  cached_tokens_ += r.cached_tokens;
  preempted_requests_ += r.preemptions > 0;
  if (csv_.is_open()) {
    const TtftParts p = ttft_parts(r);
    csv_ << fmt::format("{},{},{},{:.9g},{:.9g},{:.9g},{},{},{},{},{:.9g},{},{:.9g},{},,{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{},{:.9g}\n",
                        r.id, r.replica, r.priority, r.arrival, r.first_token, now, r.input_tokens, r.generated,
                        r.cached_tokens, r.preemptions, ttft, has_tpot ? fmt::format("{:.9g}", tpot) : "", e2e, meets ? 1 : 0,
                        p.queue, p.prefill, p.kv_wait, p.kv_transfer, p.first_decode, r.prefill_replica, r.kv_bytes);
  }
}

void ServingMetrics::step(const Step& step, const Replica& replica, double start, double end) {
  ++steps_;
  busy_time_ += end - start;
  batch_seqs_.add(double(step.entries.size()));
  batch_tokens_.add(double(step.shape.tokens));
  const double util = double(replica.kv().in_use()) / double(replica.kv().total());
  kv_util_sum_ += util;
  kv_util_peak_ = std::max(kv_util_peak_, util);
}

void ServingMetrics::close() {
  if (!csv_.is_open()) return;
  csv_.flush();
  const bool ok = static_cast<bool>(csv_);
  csv_.close();
  if (!ok) throw InputError(SourceLocation{csv_path_, 0, 0}, "--requests", "writing the requests file failed");
}

double ServingMetrics::attainment() const { return arrived_ ? double(meeting_slo_) / double(arrived_) : 0.0; }
double ServingMetrics::goodput() const { return span() > 0 ? double(meeting_slo_) / span() : 0.0; }
double ServingMetrics::mean_in_system() const { return span() > 0 ? area_ / span() : 0.0; }

nlohmann::json ServingMetrics::to_json(int gpus) const {
  using nlohmann::json;
  const double t = span();
  auto per_s = [t](double x) { return t > 0 ? x / t : 0.0; };
  json j;
  j["requests"] = arrived_;
  j["completed"] = completed_;
  j["rejected"] = rejected_;
  j["rejected_by_reason"] = reject_reasons_;
  j["ttft_ms"] = ttft_.summary(1e3);
  j["tpot_ms"] = tpot_.summary(1e3);
  j["itl_ms"] = itl_.summary(1e3);
  j["e2e_ms"] = e2e_.summary(1e3);
  j["ttft_breakdown_ms"] = {{"queue", queue_.summary(1e3)}, {"prefill", prefill_.summary(1e3)}};
  if (kv_transfer_.count() > 0) {
    j["ttft_breakdown_ms"]["kv_wait"] = kv_wait_.summary(1e3);
    j["ttft_breakdown_ms"]["kv_transfer"] = kv_transfer_.summary(1e3);
    j["ttft_breakdown_ms"]["first_decode"] = first_decode_.summary(1e3);
  }
  j["duration_s"] = t;
  j["throughput"] = {{"requests_per_s", per_s(double(completed_))},
                     {"input_tokens_per_s", per_s(double(input_tokens_))},
                     {"output_tokens_per_s", per_s(double(output_tokens_))},
                     {"requests_per_s_per_gpu", per_s(double(completed_)) / gpus},
                     {"output_tokens_per_s_per_gpu", per_s(double(output_tokens_)) / gpus}};
  const double p = spec_.slo.percentile / 100.0;
  j["goodput"] = {{"requests_per_s", goodput()},
                  {"requests_per_s_per_gpu", goodput() / gpus},
                  {"attainment", attainment()},
                  {"ttft_slo_ms", spec_.slo.ttft_s * 1e3},
                  {"tpot_slo_ms", spec_.slo.tpot_s * 1e3},
                  {"percentile", spec_.slo.percentile},
                  {"ttft_at_percentile_ms", ttft_.quantile(p) * 1e3},
                  {"tpot_at_percentile_ms", tpot_.quantile(p) * 1e3},
                  {"slo_met_at_percentile", ttft_.quantile(p) <= spec_.slo.ttft_s && tpot_.quantile(p) <= spec_.slo.tpot_s}};
  j["batch"] = {{"steps", steps_},
                {"mean_sequences", batch_seqs_.mean()},
                {"p99_sequences", batch_seqs_.quantile(0.99)},
                {"mean_tokens", batch_tokens_.mean()},
                {"p99_tokens", batch_tokens_.quantile(0.99)}};
  j["kv"] = {{"mean_utilization", steps_ ? kv_util_sum_ / double(steps_) : 0.0},
             {"peak_utilization", kv_util_peak_},
             {"prefix_hit_rate", input_tokens_ ? double(cached_tokens_) / double(input_tokens_) : 0.0}};
  j["little"] = {{"mean_in_system", mean_in_system()},
                 {"arrival_rate_per_s", per_s(double(arrived_ - rejected_))},
                 {"mean_e2e_s", e2e_.mean()}};
  j["preempted_requests"] = preempted_requests_;
  return j;
}

}  // namespace foresight::sim
