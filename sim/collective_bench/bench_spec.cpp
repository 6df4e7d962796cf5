#include "sim/collective_bench/bench_spec.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace foresight::sim {

std::vector<double> CollectiveBenchSpec::sizes() const {
  std::vector<double> out;
  for (double s = min_bytes; s <= max_bytes * (1 + 1e-12); s *= factor) {
    out.push_back(std::round(s));
    if (factor <= 1.0) break;
  }
  return out;
}

CollectiveBenchSpec parse_collective_bench(const YamlNode& w, int total_gpus) {
  using units::Dimension;
  w.expect_only({"kind", "ops", "ranks", "sizes", "algorithm", "protocol", "dtype"});
  CollectiveBenchSpec b;
  const YamlNode ops = w.at("ops");
  for (const auto& item : ops.items()) {
    try {
      b.ops.push_back(parse_op(item.as_string()));
    } catch (const std::invalid_argument& e) {
      item.fail(e.what());
    }
  }
  if (b.ops.empty()) ops.fail("needs at least one collective");
  const YamlNode ranks = w.at("ranks");
  b.ranks = static_cast<int>(ranks.as_int_in(1, 1 << 24));
  if (b.ranks > total_gpus) ranks.fail(fmt::format("{} ranks do not fit in a cluster of {} GPUs", b.ranks, total_gpus));
  const YamlNode sizes = w.at("sizes");
  sizes.expect_only({"min", "max", "factor"});
  b.min_bytes = sizes.at("min").as_quantity(Dimension::bytes);
  b.max_bytes = sizes.at("max").as_quantity(Dimension::bytes);
  if (b.min_bytes < 1) sizes.at("min").fail("must be at least 1 B");
  if (b.max_bytes < b.min_bytes) sizes.at("max").fail("must not be smaller than sizes.min");
  if (b.max_bytes > 1e13) sizes.at("max").fail("larger than 10 TB per rank is not a collective any GPU can hold");
  if (auto f = sizes.find("factor")) {
    b.factor = f->as_double();
    if (!(b.factor > 1.0)) f->fail("must be greater than 1");
    if (std::log(b.max_bytes / b.min_bytes) / std::log(b.factor) > 200) f->fail("gives more than 200 sizes");
  }
  if (auto a = w.find("algorithm")) b.algorithm = a->as_choice({"auto", "ring", "tree", "nvls", "hierarchical", "direct"});
  if (auto p = w.find("protocol")) b.protocol = p->as_choice({"auto", "ll", "ll128", "simple"});
  if (auto d = w.find("dtype")) b.dtype = d->as_choice({"float", "half", "bfloat16", "double", "int8"});
  return b;
}

}  // namespace foresight::sim
