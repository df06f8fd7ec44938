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
