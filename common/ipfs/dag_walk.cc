#include "common/ipfs/dag_walk.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ipfs/dag_pb.h"
#include "common/runtime/reason.h"
#include "common/uri/token_uri.h"

namespace niftysave::ipfs {
namespace {

absl::Status Unsupported(absl::string_view what) {
  return ErrorWithReason(absl::StatusCode::kInvalidArgument, "dag_unsupported",
                         what);
}

absl::Status NotFound(std::string_view path) {
  return ErrorWithReason(
      absl::StatusCode::kNotFound, "path_not_found",
      absl::StrCat("nothing at ", std::string(path), " under the root"));
}

uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t Fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

uint64_t LoadLe64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Fetches blocks for one walk, counting them against the limit.
class Walk {
 public:
  Walk(const BlockSource& source, const DagWalkLimits& limits)
      : source_(source), limits_(limits) {}

  absl::StatusOr<DagNode> Get(const uri::Cid& cid) {
    if (++fetched_ > limits_.max_blocks) {
      return ErrorWithReason(absl::StatusCode::kResourceExhausted,
                             "dag_too_wide",
                             absl::StrCat("the path needs more than ",
                                          limits_.max_blocks, " blocks"));
    }
    absl::StatusOr<std::string> block = source_(cid);
    if (!block.ok()) return block.status();
    return DagNode{cid, *std::move(block)};
  }

 private:
  const BlockSource& source_;
  const DagWalkLimits& limits_;
  size_t fetched_ = 0;
};

absl::StatusOr<uri::Cid> LinkCid(const PbLink& link) {
  absl::StatusOr<uri::Cid> cid = uri::CidFromBytes(link.hash);
  if (!cid.ok()) return Unsupported("a link with an invalid CID");
  return cid;
}

// A plain directory: the link named `name`, if any.
std::optional<PbLink> FindLink(const PbNode& node, std::string_view name) {
  for (const PbLink& link : node.links) {
    if (link.name == name) return link;
  }
  return std::nullopt;
}

// Bits per level of a HAMT shard: log2(fanout).
absl::StatusOr<int> LevelBits(uint64_t fanout) {
  if (fanout < 2 || fanout > 4096 || (fanout & (fanout - 1)) != 0) {
    return Unsupported(absl::StrCat("HAMT fanout ", fanout));
  }
  int bits = 0;
  while ((uint64_t{1} << bits) < fanout) ++bits;
  return bits;
}

// A HAMT-sharded directory (UnixFS spec): an entry's bucket at depth d is
// the d-th group of log2(fanout) bits of HamtHash(name), most significant
// first; its link is named "<bucket in upper-case hex, padded to the width
// of fanout - 1><name>", or "<bucket>" alone for a sub-shard holding it.
// One block per level, so the walk is as deep as the shard, no wider.
absl::StatusOr<std::optional<PbLink>> FindInShard(Walk& walk, PbNode shard,
                                                  uint64_t fanout,
                                                  std::string_view name) {
  const uint64_t hash = HamtHash(name);
  for (int depth = 0;; ++depth) {
    absl::StatusOr<int> bits = LevelBits(fanout);
    if (!bits.ok()) return bits.status();
    if ((depth + 1) * *bits > 64)
      return Unsupported("HAMT deeper than 64 bits");
    const uint64_t bucket = (hash >> (64 - (depth + 1) * *bits)) & (fanout - 1);
    const size_t width = absl::StrCat(absl::Hex(fanout - 1)).size();
    std::string padded = absl::AsciiStrToUpper(absl::StrCat(absl::Hex(bucket)));
    if (padded.size() < width) padded.insert(0, width - padded.size(), '0');
    const PbLink* sub = nullptr;
    for (const PbLink& link : shard.links) {
      if (!absl::StartsWith(link.name, padded)) continue;
      if (link.name.size() == padded.size()) {
        sub = &link;
      } else if (std::string_view(link.name).substr(padded.size()) == name) {
        return link;
      }
    }
    if (sub == nullptr) return std::nullopt;
    absl::StatusOr<uri::Cid> cid = LinkCid(*sub);
    if (!cid.ok()) return cid.status();
    absl::StatusOr<DagNode> child = walk.Get(*cid);
    if (!child.ok()) return child.status();
    absl::StatusOr<PbNode> pb = DecodePbNode(child->block);
    if (!pb.ok() || !pb->data) return Unsupported("HAMT sub-shard");
    absl::StatusOr<UnixfsData> data = DecodeUnixfsData(*pb->data);
    if (!data.ok() || data->type != kUnixfsHamtShardType) {
      return Unsupported("HAMT sub-shard");
    }
    shard = *std::move(pb);
    fanout = data->fanout;
  }
}

}  // namespace

// MurmurHash3 x64 128 (seed 0), as written by its author; the UnixFS HAMT
// uses the first 64 bits of its 128.
uint64_t HamtHash(std::string_view key) {
  constexpr uint64_t c1 = 0x87c37b91114253d5ULL;
  constexpr uint64_t c2 = 0x4cf5ad432745937fULL;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const size_t len = key.size();
  uint64_t h1 = 0, h2 = 0;
  const size_t blocks = len / 16;
  for (size_t i = 0; i < blocks; ++i) {
    uint64_t k1 = LoadLe64(data + i * 16);
    uint64_t k2 = LoadLe64(data + i * 16 + 8);
    k1 *= c1;
    k1 = Rotl(k1, 31);
    k1 *= c2;
    h1 ^= k1;
    h1 = Rotl(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= c2;
    k2 = Rotl(k2, 33);
    k2 *= c1;
    h2 ^= k2;
    h2 = Rotl(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }
  const unsigned char* tail = data + blocks * 16;
  const size_t rest = len & 15;
  uint64_t k1 = 0, k2 = 0;
  for (size_t i = rest; i > 8; --i) k2 = (k2 << 8) | tail[i - 1];
  for (size_t i = std::min<size_t>(rest, 8); i > 0; --i) {
    k1 = (k1 << 8) | tail[i - 1];
  }
  if (rest > 8) {
    k2 *= c2;
    k2 = Rotl(k2, 33);
    k2 *= c1;
    h2 ^= k2;
  }
  if (rest > 0) {
    k1 *= c1;
    k1 = Rotl(k1, 31);
    k1 *= c2;
    h1 ^= k1;
  }
  h1 ^= len;
  h2 ^= len;
  h1 += h2;
  h2 += h1;
  h1 = Fmix(h1);
  h2 = Fmix(h2);
  h1 += h2;
  return h1;
}

absl::StatusOr<std::string> CachedBlockSource::Get(const uri::Cid& cid) {
  const std::string key = cid.ToString();
  {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  // Fetched outside the lock: two workers asking at once may both fetch.
  absl::StatusOr<std::string> block = source_(cid);
  if (!block.ok() || block->size() > max_bytes_) return block;
  absl::MutexLock lock(&mu_);
  if (index_.contains(key)) return block;
  lru_.emplace_front(key, *block);
  index_[key] = lru_.begin();
  bytes_ += block->size();
  while (bytes_ > max_bytes_) {
    bytes_ -= lru_.back().second.size();
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return block;
}

absl::StatusOr<DagNode> ResolvePath(const BlockSource& source,
                                    const uri::Cid& root, std::string_view path,
                                    const DagWalkLimits& limits) {
  Walk walk(source, limits);
  absl::StatusOr<DagNode> node = walk.Get(root);
  if (!node.ok()) return node.status();
  for (absl::string_view segment :
       absl::StrSplit(absl::string_view(path.data(), path.size()), '/',
                      absl::SkipEmpty())) {
    if (node->cid.codec != uri::kCodecDagPb) return NotFound(path);
    absl::StatusOr<PbNode> pb = DecodePbNode(node->block);
    if (!pb.ok()) return Unsupported(pb.status().message());
    if (!pb->data) return NotFound(path);
    absl::StatusOr<UnixfsData> data = DecodeUnixfsData(*pb->data);
    if (!data.ok()) return Unsupported(data.status().message());
    const std::string name = uri::PercentDecodeLenient(
        std::string_view(segment.data(), segment.size()));
    absl::StatusOr<std::optional<PbLink>> link;
    if (data->type == kUnixfsDirectoryType) {
      link = FindLink(*pb, name);
    } else if (data->type == kUnixfsHamtShardType) {
      link = FindInShard(walk, *std::move(pb), data->fanout, name);
    } else {
      return NotFound(path);  // a file has no children
    }
    if (!link.ok()) return link.status();
    if (!link->has_value()) return NotFound(path);
    absl::StatusOr<uri::Cid> cid = LinkCid(**link);
    if (!cid.ok()) return cid.status();
    node = walk.Get(*cid);
    if (!node.ok()) return node.status();
  }
  return node;
}

absl::StatusOr<CidPinPlan> PlanCidPin(const BlockSource& source,
                                      const uri::Cid& root,
                                      std::string_view path, uint64_t max_bytes,
                                      const DagWalkLimits& limits) {
  // The root's block, kept from the walk (it is its first step).
  std::optional<std::string> root_block;
  const std::string root_text = root.ToString();
  const BlockSource keep_root =
      [&](const uri::Cid& cid) -> absl::StatusOr<std::string> {
    absl::StatusOr<std::string> block = source(cid);
    if (block.ok() && !root_block && cid.ToString() == root_text) {
      root_block = *block;
    }
    return block;
  };
  absl::StatusOr<DagNode> target = ResolvePath(keep_root, root, path, limits);
  if (!target.ok()) return target.status();
  auto size_of = [](const DagNode& node) -> absl::StatusOr<uint64_t> {
    absl::StatusOr<uint64_t> size = DagSizeFromRoot(node.cid, node.block);
    if (!size.ok()) {
      return Unsupported(
          absl::StrCat("the size of ", node.cid.ToString(),
                       " is not known: ", size.status().message()));
    }
    return size;
  };
  const bool at_root = target->cid.ToString() == root_text;
  absl::StatusOr<uint64_t> root_bytes =
      size_of(DagNode{root, root_block.value_or(std::string())});
  if (!root_bytes.ok()) return root_bytes.status();
  if (*root_bytes <= max_bytes) {
    return CidPinPlan{root.ToString(), *root_bytes, true};
  }
  absl::StatusOr<uint64_t> target_bytes =
      at_root ? root_bytes : size_of(*target);
  if (!target_bytes.ok()) return target_bytes.status();
  if (!at_root && *target_bytes <= max_bytes) {
    return CidPinPlan{target->cid.ToString(), *target_bytes, false};
  }
  return ErrorWithReason(
      absl::StatusCode::kInvalidArgument, "too_large",
      absl::StrCat("a pin of ", target->cid.ToString(), " would hold ",
                   *target_bytes, " bytes, over the ", max_bytes,
                   "-byte limit (--max_pin_bytes)"));
}

}  // namespace niftysave::ipfs
