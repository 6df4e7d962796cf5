#include "calibrate/fit/decode_tables.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "core/dtype.hpp"
#include "hwmodels/kernel_table.hpp"

namespace foresight::calibrate {

void add_decode_tables(const RawFile& raw, hw::Profile& prof) {
  using Key = std::tuple<std::string, std::string, int64_t, int64_t, int64_t>;
  std::map<Key, std::map<std::pair<double, double>, std::vector<double>>> groups;
  for (const auto& p : raw.points) {
    if (p.op != "decode_attention" || p.cache == "hot") continue;
    const auto& shape = raw.measurements.at(p.index).at("shape");
    const int64_t heads = shape.value("heads", int64_t{0}), kv = shape.value("kv_heads", heads);
    const int64_t dim = shape.value("head_dim", int64_t{0});
    const double batch = shape.value("batch", 0.0), ctx = shape.value("context_len", shape.value("context", 0.0));
    if (heads <= 0 || dim <= 0 || !(batch > 0) || !(ctx > 0)) continue;
    groups[{p.backend, canonical_dtype(p.dtype), heads, kv, dim}][{batch, ctx}].push_back(p.time_s);
  }
  for (const auto& [key, cells] : groups) {
    const auto& [backend, dtype, heads, kv, dim] = key;
    std::set<double> batches, contexts;
    for (const auto& [bc, t] : cells) {
      batches.insert(bc.first);
      contexts.insert(bc.second);
    }
    if (batches.size() < 2 || contexts.size() < 2) continue;
    hw::KernelTable t;
    t.op = "decode_attention";
    t.family = backend;
    t.dtype = dtype;
    t.kv_dtype = dtype;  // the harness's KV cache is in the compute dtype
    t.keys = {{"heads", heads}, {"kv_heads", kv}, {"head_dim", dim}};
    t.axes = {"batch", "context"};
    t.values = {std::vector<double>(batches.begin(), batches.end()), std::vector<double>(contexts.begin(), contexts.end())};
    t.kernels = {backend};
    t.seconds.assign(batches.size() * contexts.size(), std::numeric_limits<double>::quiet_NaN());
    for (const auto& [bc, times] : cells) {
      const size_t i = static_cast<size_t>(std::find(t.values[0].begin(), t.values[0].end(), bc.first) - t.values[0].begin());
      const size_t j = static_cast<size_t>(std::find(t.values[1].begin(), t.values[1].end(), bc.second) - t.values[1].begin());
      std::vector<double> v = times;  // repeated timings of one cell: their median
      std::sort(v.begin(), v.end());
      t.seconds[i * contexts.size() + j] = v[v.size() / 2];
    }
    t.held_out = hw::table_held_out_error(t);
    prof.tables.push_back(std::move(t));
  }
}

}  // namespace foresight::calibrate
