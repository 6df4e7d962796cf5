// The paged KV cache: block accounting, prefix matching, LRU eviction, conservation.
#include <catch2/catch.hpp>

#include "sim/serving/kv_cache.hpp"
#include "sim/serving/request_source.hpp"

using namespace foresight::sim;

namespace {

Request prompt(int64_t id, int64_t tokens, int group, int64_t shared) {
  Request r;
  r.id = id;
  r.input_tokens = tokens;
  r.output_tokens = 4;
  r.block_hashes = block_hashes(id, tokens, 16, group, shared, {});
  return r;
}

}  // namespace

TEST_CASE("blocks are granted per 16 tokens and come back on release", "[serving][kv]") {
  KvCache kv(10, 16, false);
  Request r = prompt(1, 100, -1, 0);
  CHECK(kv.grow(r, 100));
  CHECK(r.blocks == 7);            // ceil(100 / 16)
  CHECK(kv.free() == 3);
  CHECK_FALSE(kv.grow(r, 100 + 4 * 16));  // needs 4 more, 3 free: nothing changes
  CHECK(r.blocks == 7);
  kv.release(r);
  CHECK(kv.free() == 10);
  CHECK(kv.acquired() == kv.released());
}

TEST_CASE("a shared prefix is matched block by block, capped below the whole prompt", "[serving][kv]") {
  KvCache kv(100, 16, true);
  Request a = prompt(1, 160, 0, 128);  // 10 blocks, the first 8 shared by group 0
  REQUIRE(kv.grow(a, 160));
  a.computed = 160;
  kv.publish(a);
  CHECK(a.cached_blocks.size() == 10);
  Request b = prompt(2, 160, 0, 128);
  CHECK(kv.match(b) == 8);             // the shared 128 tokens
  Request same = a;
  same.id = 3, same.blocks = 0, same.cached_blocks.clear(), same.computed = 0, same.hashed = 0;
  CHECK(kv.match(same) == 9);          // a full hit still recomputes the last block: (160 - 1) / 16
  Request other = prompt(4, 160, 1, 128);
  CHECK(kv.match(other) == 0);         // another group shares nothing
  kv.release(a);
  CHECK(kv.evictable() == 10);         // cached, unreferenced, still matchable
  CHECK(kv.match(b) == 8);
}

TEST_CASE("unreferenced cached blocks are evicted least recently used, a prefix's tail first", "[serving][kv]") {
  KvCache kv(4, 16, true);
  Request a = prompt(1, 64, 0, 64);  // 4 blocks of group 0
  REQUIRE(kv.grow(a, 64));
  a.computed = 64;
  kv.publish(a);
  kv.release(a);
  REQUIRE(kv.evictable() == 4);
  const Request c = prompt(3, 80, 0, 64);  // the same 4 blocks, then one of its own
  CHECK(kv.match(c) == 4);
  Request b = prompt(2, 16, -1, 0);  // one unrelated block: evicts a's last block
  REQUIRE(kv.grow(b, 16));
  CHECK(kv.evictions() == 1);
  CHECK(kv.match(c) == 3);           // the head of the prefix survived
  kv.release(b);
  CHECK(kv.in_use() == 0);
  CHECK(kv.acquired() == kv.released());
}
