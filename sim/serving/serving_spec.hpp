#pragma once
// What a user asks to serve: the model, the engine and its scheduler knobs, replicas and their
// parallelism, the router, the SLO, and the traffic. Parsed and checked against the cluster here;
// everything downstream (memory plan, scheduler, router, driver) reads only this.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/yaml_reader.hpp"
#include "hwmodels/catalog/catalog.hpp"
#include "hwmodels/topology/cluster.hpp"
#include "sim/moe/routing.hpp"
#include "sim/serving/cost_spec.hpp"
#include "sim/serving/disaggregation_spec.hpp"
#include "sim/serving/kv_offload_spec.hpp"
#include "sim/scenario/workload.hpp"

namespace foresight::sim {

enum class ServingEngine { vllm, sglang, trtllm };
const char* engine_name(ServingEngine e);

struct SchedulerSpec {
  int max_num_seqs = 256;                  // running sequences per replica
  int max_num_batched_tokens = 8192;       // token budget per iteration
  bool chunked_prefill = true;
  int block_size = 16;                     // tokens per KV block
  double gpu_memory_utilization = 0.9;
  std::string preemption = "recompute";    // recompute | swap
  bool prefix_caching = false;
  std::string policy = "fcfs";             // fcfs | priority | lpm (longest prefix match, SGLang)
  std::optional<int64_t> num_gpu_blocks;   // vLLM's num_gpu_blocks_override: KV capacity in blocks
  double iteration_overhead_s = -1;        // CPU scheduling + input preparation per iteration; <0: engine default
  std::string iteration_overhead_source;
  int64_t max_model_len = 0;               // 0: as long as the KV cache can hold
};

struct RouterSpec {
  std::string policy = "round_robin";  // round_robin | least_requests | least_kv | prefix_aware | power_of_two | cost
  // The book's cost router: w1*occupancy + w2*active - w3*cache_match + w4*mem_bw - w5*recent_prefix.
  double w_occupancy = 1, w_active = 1, w_cache = 1, w_mem_bw = 0, w_recent_prefix = 0;
};

struct AdmissionSpec {
  std::string policy = "none";      // none | estimated_ttft
  int reject_priority = 1;          // requests of this priority value or larger may be rejected
};

struct SloSpec {
  double ttft_s = 0.5, tpot_s = 0.05;
  double percentile = 99;
};

struct LengthDist {
  std::string dist = "fixed";       // fixed | uniform | lognormal | zipf | trace
  double value = 0, min = 1, max = 0;
  double mean = 0, sigma = 0;       // lognormal: of the token count; sigma of its log
  double s = 1.1;                   // zipf exponent over [min, max]
};

struct ArrivalSpec {
  std::string kind = "poisson";     // poisson | gamma | constant | closed_loop | trace
  double rate = 1;                  // requests per second
  double cv = 1;                    // gamma: coefficient of variation of inter-arrival times
  int concurrency = 1;              // closed_loop clients
  std::string path, format = "azure";  // trace: file and azure | burstgpt | mooncake
  double time_scale = 1;            // trace: multiply timestamps (0.5 = twice as fast)
  SourceLocation where;             // for errors found while reading the trace
};

struct PriorityClass {
  double weight = 1;
  int priority = 0;                 // 0 is the most important
};

struct ServingWorkloadSpec {
  int64_t requests = 1000;
  ArrivalSpec arrivals;
  LengthDist input, output;
  double shared_prefix_fraction = 0;  // of requests that start with a shared prefix
  int64_t shared_prefix_tokens = 0;
  int shared_prefix_groups = 1;       // distinct shared prefixes, chosen uniformly
  std::vector<PriorityClass> priorities;
};

// Speculative decoding (`serving.speculative`): each decode step, a drafter proposes `tokens` (gamma)
// tokens per sequence one after another, and the target verifies them in one pass over gamma + 1
// tokens; each draft is accepted with probability `acceptance` (alpha) until the first rejection,
// and the target adds one token of its own, so a step emits 1..gamma+1 tokens, on average
// (1 - alpha^(gamma+1)) / (1 - alpha).
struct SpeculativeSpec {
  std::string method;               // "" (off) | draft (a smaller model) | mtp (one extra layer of the target: MTP, EAGLE)
  hw::ModelSpec draft_model;        // method draft
  int tokens = 0;                   // gamma
  double acceptance = 0;            // alpha
  bool enabled() const { return tokens > 0; }
  double expected_tokens() const;   // per sequence and step, the closed form above
};

struct ServingSpec : WorkloadSpec {
  hw::ModelSpec model;
  ServingEngine engine = ServingEngine::vllm;
  std::string precision = "bf16";   // weights and GEMMs: bf16 | fp8 | fp4
  std::string kv_dtype = "bf16";    // bf16 | fp8
  int replicas = 1;
  int tp = 1, pp = 1;
  // Mixture of experts: experts split over ep of the replica's tp GPUs, each expert's FFN over the
  // other tp/ep (moe_tp): vLLM's --enable-expert-parallel is ep = tp, TensorRT-LLM's
  // moe_expert_parallel_size x moe_tensor_parallel_size = tp. Attention stays tensor-parallel, so
  // every GPU sees every token and the expert outputs are summed by the layer's all-reduce.
  int ep = 1;
  RoutingSpec routing;   // serving.moe.routing: expected loads (the busiest GPU's) per step
  int moe_tp() const { return tp / ep; }
  std::vector<int> first_gpus;      // each replica's first GPU; default packed
  std::string system;               // the catalog system its replicas run on (a pool may name another)
  SchedulerSpec scheduler;
  std::string kernel_family() const override { return engine_name(engine); }
  nlohmann::json describe() const override;
  RouterSpec router;
  AdmissionSpec admission;
  SloSpec slo;
  ServingWorkloadSpec workload;
  DisaggregationSpec disaggregation;
  SpeculativeSpec speculative;
  CostSpec cost;
  KvOffloadSpec kv_offload;
  int gpus_per_replica() const { return tp * pp; }
  // Every GPU the run serves on: the replicas', or both pools' when disaggregated.
  int total_gpus() const;
};

// The drafter of a replica that speculates, as a replica description on the same GPUs: the draft
// model, or for mtp the target's shape cut to its MTP layers (at least one) with its embedding and
// LM head.
ServingSpec draft_spec(const ServingSpec& replica);

// `model` is the scenario's model node (catalog id or inline), `serving` its serving node; replicas
// are placed on the cluster's GPUs (colocated on its main system's nodes, each pool on its system's).
ServingSpec parse_serving(const YamlNode& model, const YamlNode& serving, const hw::Catalog& catalog,
                          const hw::ClusterSpec& cluster);

// A system's GPUs in the cluster's numbering, [lo, hi), and its GPU; hi == 0 when it has no nodes.
struct SystemGpus {
  int lo = 0, hi = 0;
  const hw::GpuSpec* gpu = nullptr;
};
SystemGpus system_gpus(const hw::ClusterSpec& cluster, const std::string& system);

}  // namespace foresight::sim
