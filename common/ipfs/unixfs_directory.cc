#include "common/ipfs/unixfs_directory.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ipfs/dag_pb_wire.h"
#include "common/runtime/reason.h"

namespace niftysave::ipfs {
namespace {

absl::Status CheckName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." ||
      absl::StrContains(name, '/') || absl::StrContains(name, '\0')) {
    return ErrorWithReason(
        absl::StatusCode::kInvalidArgument, "uri_invalid",
        absl::StrCat("directory entry name \"", name.substr(0, 64),
                     "\" is empty, . or .., or holds / or NUL"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DirectoryNode> PutDirectory(const ImportProfile& profile,
                                           std::vector<DirectoryEntry> entries,
                                           const BlockSink& sink) {
  std::sort(entries.begin(), entries.end(),
            [](const DirectoryEntry& a, const DirectoryEntry& b) {
              return a.name < b.name;  // bytewise, as dag-pb sorts links
            });
  size_t link_bytes = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (absl::Status s = CheckName(entries[i].name); !s.ok()) return s;
    if (i > 0 && entries[i].name == entries[i - 1].name) {
      return ErrorWithReason(
          absl::StatusCode::kInvalidArgument, "uri_invalid",
          absl::StrCat("directory entry \"", entries[i].name.substr(0, 64),
                       "\" appears twice"));
    }
    link_bytes += entries[i].name.size() + entries[i].cid.Bytes().size();
  }
  if (link_bytes > kMaxBasicDirectoryLinkBytes) {
    return ErrorWithReason(
        absl::StatusCode::kInvalidArgument, "too_large",
        absl::StrCat("directory of ", entries.size(), " entries has ",
                     link_bytes, " bytes of names and CIDs; over ",
                     kMaxBasicDirectoryLinkBytes,
                     " the reference tools shard it (HAMT), which is not "
                     "supported"));
  }

  std::string block;
  uint64_t tsize = 0;
  for (const DirectoryEntry& e : entries) {
    wire::AppendLink(block, e.cid.Bytes(), e.name, e.tsize);
    tsize += e.tsize;
  }
  std::string unixfs;
  wire::AppendVarintField(unixfs, wire::kUnixfsType, wire::kUnixfsDirectory);
  wire::AppendBytesField(block, wire::kPbNodeData, unixfs);

  const std::string digest = Sha256(block);
  DirectoryNode node{
      .cid = uri::Cid::FromDigest(profile.cid_version, uri::kCodecDagPb,
                                  uri::kHashSha2_256, digest),
      .tsize = tsize + block.size()};
  if (sink) {
    if (absl::Status s = sink(node.cid, block); !s.ok()) return s;
  }
  return node;
}

absl::StatusOr<DirectoryNode> ImportFileWrapped(const std::string& path,
                                                const std::string& name,
                                                const ImportProfile& profile,
                                                const BlockSink& sink) {
  uint64_t tsize = 0;
  absl::StatusOr<uri::Cid> file = ImportFile(path, profile, sink, &tsize);
  if (!file.ok()) return file.status();
  std::vector<DirectoryEntry> entries;
  entries.push_back({.name = name, .cid = *std::move(file), .tsize = tsize});
  return PutDirectory(profile, std::move(entries), sink);
}

}  // namespace niftysave::ipfs
