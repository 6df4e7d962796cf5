#pragma once
// The hardware catalog: GPUs, systems, NICs, switches and transformer models as data, loaded from the
// YAML files in hwmodels/catalog/ (embedded in the library at build time). Every numeric field was
// read from a {value, source} pair; sources_ keeps the source text per field for `foresight catalog`.
#include <map>
#include <string>
#include <vector>

namespace foresight {
class YamlNode;
}

namespace foresight::hw {

// field name -> source text, e.g. "memory_bandwidth" -> "NVIDIA H100 datasheet (2023)"
using SourceMap = std::map<std::string, std::string>;

struct GpuSpec {
  std::string id, name, architecture;
  int sm_count = 0;
  double memory_capacity = 0;     // bytes
  double memory_bandwidth = 0;    // bytes/s
  int nvlink_generation = 0;
  double nvlink_bandwidth = 0;    // bytes/s per direction per GPU, all links together
  std::map<std::string, double> dense_flops;  // dtype ("fp64","tf32","bf16","fp16","fp8","fp4") -> FLOP/s
  double boost_clock = 0;         // Hz
  double tdp = 0;                 // W
  SourceMap sources;
  double peak_flops(const std::string& dtype) const;  // throws InputError if dtype is unsupported
};

struct SystemSpec {
  std::string id, name, gpu;
  int gpus_per_node = 0;
  int nvlink_domain = 0;          // GPUs sharing one NVLink/NVSwitch domain (72 for GB200 NVL72)
  bool nvswitch = false;
  bool nvls = false;              // NVLink SHARP (in-switch reduction)
  int nics_per_node = 0;          // scale-out NICs for GPU traffic
  std::vector<std::string> supported_nics;
  std::string default_nic;
  double pcie_bandwidth = 0;      // bytes/s per direction, GPU<->NIC path
  double nvlink_latency = 0;      // s, one GPU->NVSwitch->GPU hop
  // Below HBM, per node (0 when the catalog has no figure): host DRAM, and local NVMe capacity and
  // aggregate read bandwidth, the tiers serving's KV offload can use.
  double host_memory = 0;         // bytes
  double nvme_capacity = 0;       // bytes
  double nvme_bandwidth = 0;      // bytes/s, all drives together
  SourceMap sources;
};

struct NicSpec {
  std::string id, name, protocol;  // protocol: infiniband | roce
  double bandwidth = 0;            // bytes/s per direction
  double latency = 0;              // s, NIC-to-NIC through one switch
  SourceMap sources;
};

struct SwitchSpec {
  std::string id, name, protocol;  // infiniband | roce | nvlink
  int radix = 0;
  double port_speed = 0;           // bytes/s per direction
  double latency = 0;              // s, port-to-port
  SourceMap sources;
};

// Largest model dimensions a scenario or catalog may give: far above any published model, low enough
// that every product the planners form fits 64-bit integers and int fields (checked at parse time).
inline constexpr long long kMaxLayers = 10000, kMaxHidden = 1 << 20, kMaxHeads = 1 << 16, kMaxHeadDim = 1 << 14,
                           kMaxFfn = 1 << 24, kMaxVocab = 1 << 24;

// Mixture-of-experts FFN (0 experts: dense). Layers before `first_dense_layers` keep the dense FFN of
// `ffn_hidden`; the others route each token to `top_k` of `experts` FFNs of `expert_ffn_hidden`,
// plus `shared_experts` that every token uses, after a router of hidden x experts.
// Token dropping: with drop_tokens an expert keeps at most capacity_factor x (its fair share of the
// assignments); without it (dropless, Megatron-core's and DeepSeek's default) every token is kept.
struct RouterSpec {
  double capacity_factor = 0;
  bool drop_tokens = false;
};

// Group-limited routing (DeepSeek-V3's n_group/topk_group): experts form expert_groups equal groups
// and each token picks its top_k experts inside its top_groups best groups (0: no limit).
struct MoeSpec {
  int experts = 0, top_k = 0, shared_experts = 0, expert_ffn_hidden = 0, first_dense_layers = 0;
  int expert_groups = 0, top_groups = 0;
  RouterSpec router;
};

// Multi-head latent attention (DeepSeek-V2/V3): queries and keys/values through low-rank latents;
// the KV cache holds the kv latent and the rotary key. 0 kv_lora_rank: ordinary attention.
struct MlaSpec {
  int q_lora_rank = 0, kv_lora_rank = 0, qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;
};

struct ModelSpec {
  std::string id, name;
  int layers = 0, hidden = 0, heads = 0, kv_heads = 0, ffn_hidden = 0, vocab = 0;
  int head_dim = 0;                // hidden / heads unless the paper states otherwise
  std::string activation;          // gelu | swiglu
  std::string norm;                // layernorm | rmsnorm
  bool tied_embeddings = false;
  double published_params = 0;     // parameter count the paper states
  double published_active_params = 0;  // MoE: parameters one token uses, as the model card states
  MoeSpec moe;
  MlaSpec mla;
  // Multi-token prediction (DeepSeek-V3): modules trained after the last layer, each an embedding
  // projection (2h -> h) and one more transformer layer sharing the embedding and output head. Not
  // part of the published parameter counts; training simulates them on the last pipeline stage.
  int mtp_modules = 0;
  SourceMap sources;
  bool is_moe() const { return moe.experts > 0; }
};

// Reads the optional `moe:` and `mla:` mappings and `mtp_modules` of a model entry (catalog or
// inline) into `m`.
void read_moe_and_mla(const YamlNode& n, ModelSpec& m);

// A cause of job interruptions and how often one unit of what it strikes fails.
struct FailureCauseSpec {
  std::string id, name, category;
  std::string unit;               // gpu | host | nic | switch: what one failure strikes (and what the rate is per)
  double rate = 0;                // failures per unit per second
  bool needs_spare = true;        // hardware that must be replaced (software failures only need a restart)
  SourceMap sources;
};

// Where checkpoints go: aggregate bandwidth the whole job sees.
struct StorageTierSpec {
  std::string id, name;
  double write_bandwidth = 0;     // bytes/s, whole job
  double read_bandwidth = 0;      // bytes/s, whole job
  bool per_node = false;          // the figures are per node (local drives): the job's scales with its nodes
  SourceMap sources;
};

class Catalog {
 public:
  static const Catalog& builtin();                         // the embedded catalog, loaded once
  static Catalog from_directory(const std::string& dir);   // a catalog of only these files
  // This catalog plus user catalog files (scenario `catalog:` or --catalog): new GPUs, systems,
  // NICs, switches and models with every number sourced; redefining an id is a located error.
  Catalog with_files(const std::vector<std::string>& paths) const;

  const GpuSpec& gpu(const std::string& id) const;         // unknown id -> InputError listing ids
  const SystemSpec& system(const std::string& id) const;
  const NicSpec& nic(const std::string& id) const;
  const SwitchSpec& switch_(const std::string& id) const;
  const ModelSpec& model(const std::string& id) const;
  bool has_model(const std::string& id) const;
  const StorageTierSpec& storage_tier(const std::string& id) const;

  const std::map<std::string, GpuSpec>& gpus() const { return gpus_; }
  const std::map<std::string, SystemSpec>& systems() const { return systems_; }
  const std::map<std::string, NicSpec>& nics() const { return nics_; }
  const std::map<std::string, SwitchSpec>& switches() const { return switches_; }
  const std::map<std::string, ModelSpec>& models() const { return models_; }
  const std::map<std::string, FailureCauseSpec>& failure_causes() const { return failure_causes_; }
  const std::map<std::string, StorageTierSpec>& storage_tiers() const { return storage_tiers_; }

  // Loads one catalog file's text; `name` appears in error messages. Systems are checked against
  // the GPUs and NICs known so far (earlier files and this one).
  void load_text(const std::string& text, const std::string& name);
  void validate_references() const;  // systems name known GPUs and NICs

 private:
  std::map<std::string, GpuSpec> gpus_;
  std::map<std::string, FailureCauseSpec> failure_causes_;
  std::map<std::string, StorageTierSpec> storage_tiers_;
  std::map<std::string, SystemSpec> systems_;
  std::map<std::string, NicSpec> nics_;
  std::map<std::string, SwitchSpec> switches_;
  std::map<std::string, ModelSpec> models_;
};

// Parses one model mapping (catalog entry or a scenario's inline `model:`); sources resolves keys.
ModelSpec read_model_spec(const std::string& id, const YamlNode& node,
                          const std::map<std::string, std::string>& sources);

}  // namespace foresight::hw
