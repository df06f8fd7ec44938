#include "common/ipfs/unixfs_importer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ipfs/dag_pb_wire.h"

namespace niftysave::ipfs {

ImportProfile KuboProfile() {
  return {.name = "kubo",
          .chunk_size = 256 * 1024,
          .max_links = 174,
          .cid_version = 0,
          .raw_leaves = false};
}
ImportProfile KuboV1Profile() {
  return {.name = "kubo-v1",
          .chunk_size = 256 * 1024,
          .max_links = 174,
          .cid_version = 1,
          .raw_leaves = true};
}
ImportProfile IpfsCarProfile() {
  return {.name = "ipfs-car",
          .chunk_size = 1024 * 1024,
          .max_links = 1024,
          .cid_version = 1,
          .raw_leaves = true};
}

absl::StatusOr<ImportProfile> ProfileByName(absl::string_view name) {
  if (name == "kubo") return KuboProfile();
  if (name == "kubo-v1") return KuboV1Profile();
  if (name == "ipfs-car") return IpfsCarProfile();
  return absl::InvalidArgumentError(
      absl::StrCat("unknown profile '", name, "' (kubo, kubo-v1 or ipfs-car)"));
}

std::string CidText(const uri::Cid& cid) {
  return cid.version == 0 ? cid.ToV0String() : cid.ToString();
}

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), len);
}

UnixfsImporter::UnixfsImporter(ImportProfile profile, BlockSink sink)
    : profile_(std::move(profile)),
      sink_(std::move(sink)),
      md_ctx_(EVP_MD_CTX_new()) {
  if (profile_.chunk_size == 0) profile_.chunk_size = 1;
  if (profile_.max_links < 2) profile_.max_links = 2;
  pending_.reserve(profile_.chunk_size);
}

UnixfsImporter::~UnixfsImporter() { EVP_MD_CTX_free(md_ctx_); }

absl::StatusOr<uri::Cid> UnixfsImporter::PutBlock(uint64_t version,
                                                  uint64_t codec,
                                                  absl::string_view block) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (md_ctx_ == nullptr ||
      EVP_DigestInit_ex(md_ctx_, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(md_ctx_, block.data(), block.size()) != 1 ||
      EVP_DigestFinal_ex(md_ctx_, digest, &len) != 1) {
    return absl::InternalError("sha256: OpenSSL EVP failed");
  }
  uri::Cid cid = uri::Cid::FromDigest(
      version, codec, uri::kHashSha2_256,
      std::string_view(reinterpret_cast<char*>(digest), len));
  if (sink_) {
    if (absl::Status s = sink_(cid, block); !s.ok()) return s;
  }
  return cid;
}

absl::Status UnixfsImporter::Update(absl::string_view bytes) {
  if (!error_.ok()) return error_;
  if (finished_) return absl::FailedPreconditionError("Update after Finish");
  file_size_ += bytes.size();
  const size_t chunk = profile_.chunk_size;
  while (!bytes.empty()) {
    // Whole chunks straight from the caller's buffer, without a copy.
    if (pending_.empty() && bytes.size() >= chunk) {
      error_ = AddLeaf(bytes.substr(0, chunk));
      if (!error_.ok()) return error_;
      bytes.remove_prefix(chunk);
      continue;
    }
    const size_t take = std::min(chunk - pending_.size(), bytes.size());
    pending_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (pending_.size() == chunk) {
      error_ = AddLeaf(pending_);
      pending_.clear();
      if (!error_.ok()) return error_;
    }
  }
  return absl::OkStatus();
}

absl::Status UnixfsImporter::AddLeaf(absl::string_view data) {
  ++leaves_;
  absl::StatusOr<uri::Cid> cid;
  uint64_t block_size = data.size();
  if (profile_.raw_leaves) {
    cid = PutBlock(1, uri::kCodecRaw, data);
  } else {
    // PBNode{Data: UnixFS{Type: File, Data: chunk, filesize}}; empty data
    // is left out, as both reference implementations do.
    std::string unixfs;
    wire::AppendVarintField(unixfs, wire::kUnixfsType, wire::kUnixfsFile);
    if (!data.empty()) wire::AppendBytesField(unixfs, wire::kUnixfsData, data);
    wire::AppendVarintField(unixfs, wire::kUnixfsFilesize, data.size());
    scratch_.clear();
    wire::AppendBytesField(scratch_, wire::kPbNodeData, unixfs);
    block_size = scratch_.size();
    cid = PutBlock(profile_.cid_version, uri::kCodecDagPb, scratch_);
  }
  if (!cid.ok()) return cid.status();
  return AddLink(0, Link{.cid = *std::move(cid),
                         .tsize = block_size,
                         .file_size = data.size()});
}

absl::Status UnixfsImporter::AddLink(size_t level, Link link) {
  if (levels_.size() <= level) levels_.resize(level + 1);
  levels_[level].push_back(std::move(link));
  if (levels_[level].size() < profile_.max_links) return absl::OkStatus();
  // A full group becomes a parent one level up right away.
  absl::StatusOr<Link> parent = MakeParent(levels_[level]);
  if (!parent.ok()) return parent.status();
  levels_[level].clear();
  return AddLink(level + 1, *std::move(parent));
}

absl::StatusOr<UnixfsImporter::Link> UnixfsImporter::MakeParent(
    const std::vector<Link>& links) {
  std::string unixfs;
  uint64_t file_size = 0;
  for (const Link& l : links) file_size += l.file_size;
  wire::AppendVarintField(unixfs, wire::kUnixfsType, wire::kUnixfsFile);
  wire::AppendVarintField(unixfs, wire::kUnixfsFilesize, file_size);
  for (const Link& l : links) {
    wire::AppendVarintField(unixfs, wire::kUnixfsBlocksizes, l.file_size);
  }

  scratch_.clear();
  uint64_t tsize_sum = 0;
  for (const Link& l : links) {
    wire::AppendLink(scratch_, l.cid.Bytes(), "", l.tsize);
    tsize_sum += l.tsize;
  }
  wire::AppendBytesField(scratch_, wire::kPbNodeData, unixfs);
  absl::StatusOr<uri::Cid> cid =
      PutBlock(profile_.cid_version, uri::kCodecDagPb, scratch_);
  if (!cid.ok()) return cid.status();
  return Link{.cid = *std::move(cid),
              .tsize = scratch_.size() + tsize_sum,
              .file_size = file_size};
}

absl::StatusOr<uri::Cid> UnixfsImporter::Finish() {
  if (!error_.ok()) return error_;
  if (finished_) return absl::FailedPreconditionError("Finish called twice");
  finished_ = true;
  // The last partial chunk; an empty file still gets one (empty) leaf.
  if (!pending_.empty() || leaves_ == 0) {
    error_ = AddLeaf(pending_);
    pending_.clear();
    if (!error_.ok()) return error_;
  }
  // Close each level bottom-up: whatever is left becomes a parent one level
  // up, until the top level holds a single node, the root.
  for (size_t level = 0; level < levels_.size(); ++level) {
    std::vector<Link>& links = levels_[level];
    if (links.empty()) continue;
    if (links.size() == 1 && level + 1 == levels_.size()) {
      root_tsize_ = links.front().tsize;
      return links.front().cid;
    }
    absl::StatusOr<Link> parent = MakeParent(links);
    if (!parent.ok()) {
      error_ = parent.status();
      return error_;
    }
    links.clear();
    if (levels_.size() <= level + 1) levels_.resize(level + 2);
    levels_[level + 1].push_back(*std::move(parent));
  }
  return absl::InternalError("unixfs importer: no root");  // unreachable
}

absl::StatusOr<uri::Cid> ImportFile(const std::string& path,
                                    const ImportProfile& profile,
                                    BlockSink sink, uint64_t* root_tsize) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("open ", path, ": ", std::strerror(errno)));
  }
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  UnixfsImporter importer(profile, std::move(sink));
  absl::Status status;
  // Reads of up to 1 MiB (or a chunk), but never a buffer larger than the
  // file (+1, so the read that finds its end needs no second call), and not
  // zero-filled: most assets are kilobytes, and a zeroed 1 MiB buffer per
  // file was a tenth of the pinner's CPU.
  size_t buffer_size = std::max<size_t>(profile.chunk_size, 1 << 20);
  if (struct stat st; ::fstat(fd, &st) == 0 && st.st_size >= 0) {
    buffer_size = static_cast<size_t>(
        std::min<uint64_t>(buffer_size, static_cast<uint64_t>(st.st_size) + 1));
  }
  const std::unique_ptr<char[]> buffer =
      std::make_unique_for_overwrite<char[]>(buffer_size);
  while (status.ok()) {
    const ssize_t n = ::read(fd, buffer.get(), buffer_size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = absl::InternalError(
          absl::StrCat("read ", path, ": ", std::strerror(errno)));
      break;
    }
    if (n == 0) break;
    status = importer.Update(absl::string_view(buffer.get(), n));
  }
  ::close(fd);
  if (!status.ok()) return status;
  absl::StatusOr<uri::Cid> root = importer.Finish();
  if (root.ok() && root_tsize != nullptr) *root_tsize = importer.root_tsize();
  return root;
}

}  // namespace niftysave::ipfs
