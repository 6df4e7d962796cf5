// Speculative decoding against its closed form: tokens per target step average
// (1 - alpha^(gamma+1)) / (1 - alpha), exactly 1 at alpha = 0 and gamma + 1 at alpha = 1; drafting
// costs time; the draws are the seed's.
#include <catch2/catch.hpp>

#include <cmath>

#include "helpers.hpp"

namespace {

std::string spec_yaml(const std::string& speculative, int requests, int output) {
  return test::serving_yaml("{requests: " + std::to_string(requests) +
                                ", arrivals: {kind: poisson, rate: 2/s}, input_tokens: {dist: fixed, value: 500}, "
                                "output_tokens: {dist: fixed, value: " + std::to_string(output) + "}}",
                            speculative.empty() ? "" : "  speculative: " + speculative + "\n");
}

}  // namespace

TEST_CASE("speculative decoding emits the closed-form mean of tokens per step", "[serving][speculative]") {
  const int gamma = 4;
  const double alpha = 0.7;
  const auto j = test::run_serving_yaml(
      spec_yaml("{method: mtp, tokens: 4, acceptance: 0.7}", 20, 2001));
  const auto& s = j["speculative"];
  // k tokens per step: P(k = i) = alpha^(i-1) (1 - alpha) for i <= gamma, P(k = gamma + 1) = alpha^gamma.
  double mean = 0, second = 0;
  for (int i = 1; i <= gamma + 1; ++i) {
    const double p = i <= gamma ? std::pow(alpha, i - 1) * (1 - alpha) : std::pow(alpha, gamma);
    mean += i * p, second += double(i) * i * p;
  }
  REQUIRE(mean == Approx((1 - std::pow(alpha, gamma + 1)) / (1 - alpha)).epsilon(1e-12));
  CHECK(s["expected_tokens_per_step"].get<double>() == Approx(mean).epsilon(1e-12));
  const double n = s["sequence_steps"].get<double>();
  REQUIRE(n > 10000);
  // Within 4 standard errors of the mean; the last step of each request may draft fewer tokens
  // (the output ends), 20 steps of ~14,000: under 0.2 % lower.
  const double se = std::sqrt(second - mean * mean) / std::sqrt(n);
  CHECK(std::abs(s["mean_tokens_per_step"].get<double>() - mean) < 4 * se + 0.002 * mean);
  // Every token after the first, but for a request's last step when one token is left (nothing to draft).
  CHECK(s["tokens_emitted"].get<double>() <= 20 * 2000.0);
  CHECK(s["tokens_emitted"].get<double>() >= 20 * 1999.0);
}

TEST_CASE("speculative decoding at the acceptance extremes", "[serving][speculative]") {
  // alpha = 1: every draft accepted, gamma + 1 tokens per step; 1 + 50 x 5 output tokens.
  const auto all = test::run_serving_yaml(spec_yaml("{method: mtp, tokens: 4, acceptance: 1}", 3, 251));
  CHECK(all["speculative"]["mean_tokens_per_step"].get<double>() == 5.0);
  CHECK(all["speculative"]["sequence_steps"] == 150);
  // alpha = 0: one token per step, as without speculation, but each step pays for the drafts.
  const auto none = test::run_serving_yaml(spec_yaml("{method: draft, draft_model: llama3.1-8b, tokens: 2, acceptance: 0}", 3, 100));
  const auto plain = test::run_serving_yaml(spec_yaml("", 3, 100));
  CHECK(none["speculative"]["mean_tokens_per_step"].get<double>() == 1.0);
  CHECK(none["speculative"]["draft_time_s"].get<double>() > 0);
  CHECK(none["tpot_ms"]["mean"].get<double>() > plain["tpot_ms"]["mean"].get<double>());
  // A good drafter cuts TPOT: with 90 % acceptance of 3 cheap MTP drafts each step emits 3.4 tokens.
  const auto good = test::run_serving_yaml(spec_yaml("{method: mtp, tokens: 3, acceptance: 0.9}", 3, 100));
  CHECK(good["tpot_ms"]["mean"].get<double>() < 0.5 * plain["tpot_ms"]["mean"].get<double>());
}

TEST_CASE("speculative draws are deterministic for a seed", "[serving][speculative]") {
  const std::string yaml = spec_yaml("{method: mtp, tokens: 3, acceptance: 0.6}", 30, 200);
  const auto a = test::run_serving_yaml(yaml), b = test::run_serving_yaml(yaml);
  CHECK(a["speculative"] == b["speculative"]);
  CHECK(a["tpot_ms"] == b["tpot_ms"]);
  const auto c = test::run_serving_yaml(yaml, {"seed=8"});   // other draws
  CHECK(c["speculative"]["sequence_steps"] != a["speculative"]["sequence_steps"]);
}
