#include "common/fetch/cid_verifier.h"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/reason.h"
#include "common/uri/cid.h"

namespace niftysave::fetch {
namespace {

// One check of streamed bytes against a CID.
class Check {
 public:
  virtual ~Check() = default;
  virtual void Update(std::string_view bytes) = 0;
  virtual CidVerification Finish() = 0;
};

// A raw CID: the multihash of the bytes themselves.
class HashCheck : public Check {
 public:
  HashCheck(uint64_t code, std::string digest)
      : code_(code),
        digest_(std::move(digest)),
        ctx_(nullptr, EVP_MD_CTX_free) {
    if (code_ == uri::kHashIdentity) return;
    ctx_.reset(EVP_MD_CTX_new());
    const EVP_MD* md =
        code_ == uri::kHashSha2_256 ? EVP_sha256() : EVP_sha512();
    if (ctx_ != nullptr && EVP_DigestInit_ex(ctx_.get(), md, nullptr) != 1) {
      ctx_.reset();
    }
  }
  void Update(std::string_view bytes) override {
    if (code_ == uri::kHashIdentity) {
      // The digest is the content itself: anything longer cannot match.
      if (inline_.size() <= digest_.size()) inline_.append(bytes);
      return;
    }
    if (ctx_ != nullptr)
      EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size());
  }
  CidVerification Finish() override {
    std::string actual = inline_;
    if (code_ != uri::kHashIdentity) {
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int length = 0;
      if (ctx_ == nullptr ||
          EVP_DigestFinal_ex(ctx_.get(), digest, &length) != 1) {
        return CidVerification::kUnverifiable;
      }
      actual.assign(reinterpret_cast<char*>(digest), length);
    }
    return actual == digest_ ? CidVerification::kVerified
                             : CidVerification::kMismatch;
  }

 private:
  uint64_t code_;
  std::string digest_;
  std::string inline_;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

// The import profiles a dag-pb CID is tried against: the tools' defaults
// and the 1 MiB / 174 links layout, with both leaf kinds.
std::vector<ipfs::ImportProfile> DagPbProfiles() {
  std::vector<ipfs::ImportProfile> profiles = {
      ipfs::KuboProfile(), ipfs::KuboV1Profile(), ipfs::IpfsCarProfile()};
  ipfs::ImportProfile mib{.name = "1mib-174",
                          .chunk_size = 1 << 20,
                          .max_links = 174,
                          .cid_version = 0,
                          .raw_leaves = false};
  profiles.push_back(mib);
  mib.name = "1mib-174-v1";
  mib.cid_version = 1;
  mib.raw_leaves = true;
  profiles.push_back(mib);
  return profiles;
}

// A dag-pb CID: verified when one profile re-derives its multihash (the
// CID version is only the multihash's encoding, so v0 and v1 compare alike;
// the child links inside the root differ between versions, so each version
// still needs its own profile).
class UnixfsCheck : public Check {
 public:
  explicit UnixfsCheck(std::string multihash)
      : multihash_(std::move(multihash)) {
    for (ipfs::ImportProfile& profile : DagPbProfiles()) {
      importers_.push_back(std::make_unique<ipfs::UnixfsImporter>(
          std::move(profile), ipfs::BlockSink()));
    }
  }
  void Update(std::string_view bytes) override {
    const absl::string_view view(bytes.data(), bytes.size());
    for (auto& importer : importers_) importer->Update(view).IgnoreError();
  }
  CidVerification Finish() override {
    for (auto& importer : importers_) {
      absl::StatusOr<uri::Cid> root = importer->Finish();
      if (root.ok() && root->codec == uri::kCodecDagPb &&
          root->multihash == multihash_) {
        return CidVerification::kVerified;
      }
    }
    return CidVerification::kUnverifiable;
  }

 private:
  std::string multihash_;
  std::vector<std::unique_ptr<ipfs::UnixfsImporter>> importers_;
};

// The check for `cid_text`; null when nothing can be checked (other codecs
// and hash functions).
absl::StatusOr<std::unique_ptr<Check>> StartCheck(std::string_view cid_text) {
  absl::StatusOr<uri::Cid> cid = uri::ParseCid(cid_text);
  if (!cid.ok()) return cid.status();
  std::string_view mh = cid->multihash;
  absl::StatusOr<uint64_t> code = uri::ReadVarint(mh);
  if (!code.ok()) return code.status();
  absl::StatusOr<uint64_t> length = uri::ReadVarint(mh);
  if (!length.ok()) return length.status();
  if (cid->codec == uri::kCodecRaw &&
      (*code == uri::kHashIdentity || *code == uri::kHashSha2_256 ||
       *code == uri::kHashSha2_512)) {
    return std::make_unique<HashCheck>(*code, std::string(mh));
  }
  if (cid->codec == uri::kCodecDagPb && *code == uri::kHashSha2_256) {
    return std::make_unique<UnixfsCheck>(cid->multihash);
  }
  return nullptr;
}

absl::StatusOr<CidVerification> Outcome(CidVerification v, uint64_t size,
                                        std::string_view cid_text) {
  if (v != CidVerification::kMismatch) return v;
  return ErrorWithReason(
      absl::StatusCode::kDataLoss, "cid_mismatch",
      absl::StrCat(size, " bytes do not hash to ",
                   absl::string_view(cid_text.data(), cid_text.size())));
}

absl::Status AsStatus(absl::StatusOr<CidVerification> v) {
  if (!v.ok()) return v.status();
  if (*v == CidVerification::kVerified) return absl::OkStatus();
  return absl::UnimplementedError(
      "this CID cannot be checked against the bytes alone");
}

}  // namespace

const char* CidVerificationName(CidVerification v) {
  switch (v) {
    case CidVerification::kNotChecked:
      return "not_checked";
    case CidVerification::kVerified:
      return "verified";
    case CidVerification::kMismatch:
      return "mismatch";
    case CidVerification::kUnverifiable:
      return "unverifiable";
  }
  return "unknown";
}

absl::StatusOr<CidVerification> CheckAgainstCid(std::string_view cid,
                                                std::string_view bytes) {
  absl::StatusOr<std::unique_ptr<Check>> check = StartCheck(cid);
  if (!check.ok()) return check.status();
  if (*check == nullptr) return CidVerification::kUnverifiable;
  (*check)->Update(bytes);
  return Outcome((*check)->Finish(), bytes.size(), cid);
}

absl::StatusOr<CidVerification> CheckFileAgainstCid(std::string_view cid,
                                                    const std::string& path) {
  absl::StatusOr<std::unique_ptr<Check>> check = StartCheck(cid);
  if (!check.ok()) return check.status();
  if (*check == nullptr) return CidVerification::kUnverifiable;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "read_failed",
                           absl::StrCat("cannot read ", path));
  }
  uint64_t size = 0;
  std::string chunk(1 << 20, '\0');
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const size_t got = static_cast<size_t>(in.gcount());
    size += got;
    (*check)->Update(std::string_view(chunk.data(), got));
  }
  if (in.bad()) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "read_failed",
                           absl::StrCat("cannot read ", path));
  }
  return Outcome((*check)->Finish(), size, cid);
}

absl::Status VerifyAgainstCid(std::string_view cid, std::string_view bytes) {
  return AsStatus(CheckAgainstCid(cid, bytes));
}

absl::Status VerifyFileAgainstCid(std::string_view cid,
                                  const std::string& path) {
  return AsStatus(CheckFileAgainstCid(cid, path));
}

}  // namespace niftysave::fetch
