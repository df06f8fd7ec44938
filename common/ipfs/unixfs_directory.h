#pragma once

// UnixFS directories (wrap-with-directory): one dag-pb node whose Data is
// UnixFS{Type: Directory} and whose links name each entry, sorted by name
// bytewise as the dag-pb spec requires. This is what `ipfs add -w` and
// `ipfs-car pack` (which wraps by default) build around files.
//
// Only basic (single-node) directories: a directory whose links would be
// sharded by the reference tools (a HAMT, above 256 KiB of names and CIDs in
// kubo) is refused with reason `too_large` rather than given a CID that
// differs from theirs.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/uri/cid.h"

namespace niftysave::ipfs {

struct DirectoryEntry {
  std::string name;  // non-empty, no '/', not "." or "..", unique
  uri::Cid cid;
  uint64_t tsize = 0;  // the entry's root block plus all below it
};

struct DirectoryNode {
  uri::Cid cid;
  uint64_t tsize = 0;  // this node plus every entry's tsize
};

// The sum of names and CID bytes above which kubo shards a directory.
inline constexpr size_t kMaxBasicDirectoryLinkBytes = 256 * 1024;

// Builds the directory node over `entries` with the profile's CID version,
// hands the block to `sink` (may be empty) and returns its CID.
// InvalidArgument (reason `uri_invalid`) for a bad or duplicate name;
// reason `too_large` for a directory the tools would shard.
absl::StatusOr<DirectoryNode> PutDirectory(const ImportProfile& profile,
                                           std::vector<DirectoryEntry> entries,
                                           const BlockSink& sink);

// Imports the file at `path` and wraps it in a directory as `name`: the root
// `ipfs add -w` / `ipfs-car pack` print for it.
absl::StatusOr<DirectoryNode> ImportFileWrapped(const std::string& path,
                                                const std::string& name,
                                                const ImportProfile& profile,
                                                const BlockSink& sink);

}  // namespace niftysave::ipfs
