#include "sim/serving/serving_workload.hpp"

#include <fmt/format.h>

#include "sim/run/session.hpp"
#include "sim/serving/max_rate.hpp"
#include "sim/serving/replica_memory.hpp"
#include "sim/serving/serving_run.hpp"
#include "sim/serving/serving_spec.hpp"

namespace foresight::sim {

namespace {

struct ServingResult : WorkloadResult {
  ServingOutcome outcome;
  std::optional<MaxRateResult> max_rate;

  void write(nlohmann::json& doc) const override {
    doc["serving"] = outcome.section;
    doc["provenance"]["compute_model"] = outcome.section["provenance"]["compute_model"];
    if (max_rate) doc["serving"]["max_rate"] = max_rate->to_json();
  }
  std::string report() const override {
    std::string s = outcome.report;
    if (max_rate)
      s += fmt::format("  max rate holding {:.0f} % SLO attainment: {:.3g} req/s ({} probes)\n", 100 * max_rate->target,
                       max_rate->rate, max_rate->probes.size());
    return s;
  }
};

// The smallest request the workload can send (trace lengths are known only when read: 1).
int64_t smallest(const LengthDist& d) { return d.dist == "fixed" ? int64_t(d.value) : d.dist == "trace" ? 1 : int64_t(d.min); }

// Fails, located, when a replica has no room for KV at all, or not even for the smallest request
// (a disaggregated pool: its prompt on the prefill pool, prompt and output on the decode pool).
void check_fit(const ServingSpec& spec, const hw::GpuSpec& gpu, const YamlNode& node, bool holds_output, bool pool) {
  const ReplicaMemory m = plan_replica_memory(spec, gpu);
  const YamlNode where = node.find("parallelism") ? node.at("parallelism") : node;
  if (m.blocks < 1) {
    const double gib = 1073741824.0;
    where.fail(fmt::format("{} does not fit: per GPU {:.1f} GiB usable ({:.0f} % of {:.1f} GiB) minus weights {:.1f} GiB, "
                           "activations {:.1f} GiB and reserved {:.1f} GiB leaves no room for the KV cache; "
                           "raise tp/pp, lower precision or max_num_batched_tokens",
                           spec.model.id, m.usable / gib, 100 * spec.scheduler.gpu_memory_utilization, m.capacity / gib,
                           m.weights / gib, m.activations / gib, m.reserved / gib));
  }
  if (!pool) return;   // a colocated replica turns away requests too long for it (reason too_long)
  const int64_t tokens = smallest(spec.workload.input) + (holds_output ? smallest(spec.workload.output) : 0);
  const int64_t blocks = (tokens + spec.scheduler.block_size - 1) / spec.scheduler.block_size;
  if (blocks > m.blocks)
    where.fail(fmt::format("a replica holds {} KV blocks of {} tokens, too few for the smallest request ({} tokens{}); "
                           "raise tp/pp or lower the request lengths",
                           m.blocks, spec.scheduler.block_size, tokens, holds_output ? ", prompt and output" : ", its prompt"));
}

class ServingWorkload final : public Workload {
 public:
  std::string kind() const override { return "serving"; }
  std::vector<std::string> sections() const override { return {"model", "serving"}; }
  std::string primary_section() const override { return "serving"; }

  std::shared_ptr<const WorkloadSpec> parse(const ParseContext& ctx) const override {
    if (auto w = ctx.root.find("workload")) w->expect_only({"kind"});
    const YamlNode serving = ctx.root.at("serving");
    auto spec = std::make_shared<ServingSpec>(
        parse_serving(ctx.root.at("model"), serving, ctx.catalog, ctx.cluster));
    // An impossible fit is an input error with the numbers, not a run that rejects every request.
    if (spec->disaggregation.enabled()) {
      const YamlNode d = serving.at("disaggregation");
      const auto& dis = spec->disaggregation;
      check_fit(*dis.prefill, *system_gpus(ctx.cluster, dis.prefill->system).gpu, d.at("prefill"), false, true);
      check_fit(*dis.decode, *system_gpus(ctx.cluster, dis.decode->system).gpu, d.at("decode"), true, true);
    } else {
      check_fit(*spec, ctx.cluster.gpu_spec, serving, true, false);
    }
    return spec;
  }

  std::unique_ptr<WorkloadResult> run(Session& session, const WorkloadSpec& base) const override {
    const auto& spec = dynamic_cast<const ServingSpec&>(base);
    auto out = std::make_unique<ServingResult>();
    ServingRunOptions options;
    options.requests_csv = session.options().requests_path;
    options.trace_path = session.options().trace_path;
    out->outcome = run_serving(session, spec, options);
    if (session.options().max_rate_attainment > 0)
      out->max_rate = search_max_rate(session, spec, session.options().max_rate_attainment);
    return out;
  }
};

}  // namespace

std::unique_ptr<Workload> make_serving_workload() { return std::make_unique<ServingWorkload>(); }

}  // namespace foresight::sim
