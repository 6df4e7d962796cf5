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

class ServingWorkload final : public Workload {
 public:
  std::string kind() const override { return "serving"; }
  std::vector<std::string> sections() const override { return {"model", "serving"}; }
  std::string primary_section() const override { return "serving"; }

  std::shared_ptr<const WorkloadSpec> parse(const ParseContext& ctx) const override {
    if (auto w = ctx.root.find("workload")) w->expect_only({"kind"});
    const YamlNode serving = ctx.root.at("serving");
    auto spec = std::make_shared<ServingSpec>(
        parse_serving(ctx.root.at("model"), serving, ctx.catalog, ctx.cluster.gpu_spec, ctx.total_gpus));
    // An impossible fit is an input error with the numbers, not a run that rejects every request.
    const ReplicaMemory m = plan_replica_memory(*spec, ctx.cluster.gpu_spec);
    if (m.blocks < 1) {
      const double gib = 1073741824.0;
      const YamlNode where = serving.find("parallelism") ? serving.at("parallelism") : serving;
      where.fail(fmt::format("{} does not fit: per GPU {:.1f} GiB usable ({:.0f} % of {:.1f} GiB) minus weights {:.1f} GiB, "
                             "activations {:.1f} GiB and reserved {:.1f} GiB leaves no room for the KV cache; "
                             "raise tp/pp, lower precision or max_num_batched_tokens",
                             spec->model.id, m.usable / gib, 100 * spec->scheduler.gpu_memory_utilization, m.capacity / gib,
                             m.weights / gib, m.activations / gib, m.reserved / gib));
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
