#pragma once

// Reading dag-pb blocks (the PBNode of the dag-pb spec): the links of a
// UnixFS node and the cumulative size they claim, so a DAG's size is known
// from its root block alone, before anything under it is fetched.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/uri/cid.h"

namespace niftysave::ipfs {

struct PbLink {
  std::string hash;  // CID bytes
  std::string name;
  std::optional<uint64_t> tsize;  // cumulative size of the DAG it points at
};

struct PbNode {
  std::vector<PbLink> links;
  std::optional<std::string> data;
};

// The parts of a UnixFS Data message (carried in PBNode.Data) a path walk
// needs: the node's type (0 raw, 1 directory, 2 file, 3 metadata, 4
// symlink, 5 HAMT shard) and, for a HAMT shard, its fanout.
struct UnixfsData {
  uint64_t type = 0;
  uint64_t fanout = 0;
};
inline constexpr uint64_t kUnixfsDirectoryType = 1;
inline constexpr uint64_t kUnixfsHamtShardType = 5;

// Decodes a UnixFS Data message; unknown fields are skipped (later UnixFS
// versions add mode and mtime), malformed wire data is InvalidArgument.
absl::StatusOr<UnixfsData> DecodeUnixfsData(absl::string_view data);

// Decodes a dag-pb block strictly (fields 1 Data and 2 Links, PBLink fields
// 1 Hash, 2 Name, 3 Tsize; anything else is InvalidArgument).
absl::StatusOr<PbNode> DecodePbNode(absl::string_view block);

// The bytes a recursive pin of `cid` holds, from its root block `block`
// (checked against the CID first: DataLoss when it does not match): for raw
// and identity CIDs the block itself; for dag-pb the block plus the Tsize of
// every link. Unimplemented for other codecs, or a link without Tsize (the
// size cannot be known without walking the DAG).
absl::StatusOr<uint64_t> DagSizeFromRoot(const uri::Cid& cid,
                                         absl::string_view block);

}  // namespace niftysave::ipfs
