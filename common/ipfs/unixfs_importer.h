#pragma once

// A streaming UnixFS file importer: bytes in, dag-pb / raw blocks out, with
// the root CID the reference tools compute for the same bytes.
//
// Layout (ipfs/specs UNIXFS.md, dag-pb spec): fixed-size chunks become the
// leaves (raw blocks, or dag-pb nodes holding a UnixFS `File` with the
// data); leaves are grouped `max_links` at a time under dag-pb parents whose
// UnixFS `File` data lists each child's file size (`blocksizes`); parents are
// grouped again until one node is left (the "balanced" layout of go-unixfs
// and js ipfs-unixfs-importer). A file of one chunk is that chunk's block.
//
// Memory is bounded: the pending chunk plus one link list per tree level.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/uri/cid.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace niftysave::ipfs {

struct ImportProfile {
  std::string name;
  size_t chunk_size = 262144;
  size_t max_links = 174;
  uint64_t cid_version = 0;  // of dag-pb nodes; raw leaves are always v1
  bool raw_leaves = false;
};

// `ipfs add` defaults: 256 KiB chunks, 174 links, CIDv0, dag-pb leaves.
ImportProfile KuboProfile();
// `ipfs add --cid-version=1`: as above with CIDv1 and raw leaves.
ImportProfile KuboV1Profile();
// npm ipfs-car 3.x: CIDv1, raw leaves, 1 MiB chunks, 1024 links per node.
ImportProfile IpfsCarProfile();
// "kubo", "kubo-v1" or "ipfs-car"; InvalidArgument otherwise.
absl::StatusOr<ImportProfile> ProfileByName(absl::string_view name);

// Receives every block once, children before parents, the root last.
using BlockSink =
    std::function<absl::Status(const uri::Cid& cid, absl::string_view block)>;

// The text the tools print: "Qm..." for CIDv0, base32 "b..." for CIDv1.
std::string CidText(const uri::Cid& cid);

// SHA-256 through OpenSSL EVP (SHA-NI when the CPU has it).
std::string Sha256(absl::string_view data);

class UnixfsImporter {
 public:
  // `sink` may be empty: then only the CID is computed.
  UnixfsImporter(ImportProfile profile, BlockSink sink);
  ~UnixfsImporter();
  UnixfsImporter(const UnixfsImporter&) = delete;
  UnixfsImporter& operator=(const UnixfsImporter&) = delete;

  // Appends file content. A sink error is returned and sticks.
  absl::Status Update(absl::string_view bytes);
  // Flushes the last chunk and the tree; returns the root CID. Call once.
  absl::StatusOr<uri::Cid> Finish();

  uint64_t file_size() const { return file_size_; }
  // After Finish: the root block's size plus every descendant's (the Tsize a
  // directory's link to this file carries).
  uint64_t root_tsize() const { return root_tsize_; }
  const ImportProfile& profile() const { return profile_; }

 private:
  struct Link {
    uri::Cid cid;
    uint64_t tsize = 0;      // block size plus every descendant's
    uint64_t file_size = 0;  // bytes of file content below it
  };

  absl::Status AddLeaf(absl::string_view data);
  absl::Status AddLink(size_t level, Link link);
  absl::StatusOr<Link> MakeParent(const std::vector<Link>& links);
  absl::StatusOr<uri::Cid> PutBlock(uint64_t version, uint64_t codec,
                                    absl::string_view block);

  ImportProfile profile_;
  BlockSink sink_;
  EVP_MD_CTX* md_ctx_;
  absl::Status error_;
  bool finished_ = false;
  std::string pending_;                    // content not yet cut into a chunk
  std::string scratch_;                    // encoding buffer for dag-pb nodes
  std::vector<std::vector<Link>> levels_;  // levels_[0] holds leaves
  uint64_t leaves_ = 0;
  uint64_t file_size_ = 0;
  uint64_t root_tsize_ = 0;
};

// Imports a whole file (streamed in 1 MiB reads). `root_tsize`, when given,
// receives UnixfsImporter::root_tsize().
absl::StatusOr<uri::Cid> ImportFile(const std::string& path,
                                    const ImportProfile& profile,
                                    BlockSink sink,
                                    uint64_t* root_tsize = nullptr);

}  // namespace niftysave::ipfs
