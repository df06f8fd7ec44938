#pragma once

// What a pin by CID would hold, learnt from verified blocks before anything
// is pinned: whether a path under a root exists (ipfs://<root>/missing.png
// must not count as archived) and how many bytes the pinned DAG holds (a
// token must not make a backend pin a whole dataset).

#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/uri/cid.h"

namespace niftysave::ipfs {

// Gets the block of a CID. Implementations verify it against the CID (see
// VerifyBlock) and cap its size; a failure carries its reason.
using BlockSource =
    std::function<absl::StatusOr<std::string>(const uri::Cid& cid)>;

// A BlockSource that keeps what `source` returned, by CID, least recently
// used out first, at most `max_bytes` of blocks in all. Blocks are content
// addressed, so a kept one is never stale: thousands of tokens under one
// collection root fetch its block once. Failures are not kept.
// Thread-safe.
class CachedBlockSource {
 public:
  CachedBlockSource(BlockSource source, size_t max_bytes)
      : source_(std::move(source)), max_bytes_(max_bytes) {}
  absl::StatusOr<std::string> Get(const uri::Cid& cid);
  // As a BlockSource (the cache outlives it).
  BlockSource AsSource() {
    return [this](const uri::Cid& cid) { return Get(cid); };
  }

 private:
  using Entry = std::pair<std::string, std::string>;  // CID text, block
  const BlockSource source_;
  const size_t max_bytes_;
  absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // most recent first
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index_
      ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

struct DagNode {
  uri::Cid cid;
  std::string block;
};

struct DagWalkLimits {
  // Blocks fetched for one path, HAMT shards included: a hostile directory
  // cannot make the walk fetch without end.
  size_t max_blocks = 64;
};

// Follows `path` ("" or "/a/b%20c.png": segments percent-escaped, as in
// uri::ResolvedUri::path) from `root` through UnixFS directories and HAMT
// shards. Reasons:
//   path_not_found   (NotFound) a segment names no link, or the path goes on
//                    below something that is not a directory
//   dag_unsupported  (InvalidArgument) a node on the way is neither raw nor
//                    dag-pb, or is malformed
//   dag_too_wide     (ResourceExhausted) more than max_blocks blocks fetched
// and whatever `source` failed with (gateway_timeout, ... : temporary).
absl::StatusOr<DagNode> ResolvePath(const BlockSource& source,
                                    const uri::Cid& root, std::string_view path,
                                    const DagWalkLimits& limits = {});

// The UnixFS HAMT hash of an entry name: the first 64 bits of
// MurmurHash3 x64 128 with seed 0 (the hash's first 8 bytes, big-endian).
uint64_t HamtHash(std::string_view name);

// What to pin for ipfs://<root><path>.
struct CidPinPlan {
  std::string cid;     // CIDv1 text: the root, or what the path names
  uint64_t bytes = 0;  // what a recursive pin of it holds
  bool whole_root = true;
};

// The root when its DAG holds at most `max_bytes`; otherwise, when `path`
// names something inside it that does, that alone (the token's asset is
// archived without the rest of a huge directory). The path is checked
// either way. Reasons, besides ResolvePath's:
//   too_large        (InvalidArgument) what would be pinned holds more than
//                    max_bytes
//   dag_unsupported  the size cannot be known from the block (a link
//                    without Tsize, a codec other than raw and dag-pb)
absl::StatusOr<CidPinPlan> PlanCidPin(const BlockSource& source,
                                      const uri::Cid& root,
                                      std::string_view path, uint64_t max_bytes,
                                      const DagWalkLimits& limits = {});

}  // namespace niftysave::ipfs
