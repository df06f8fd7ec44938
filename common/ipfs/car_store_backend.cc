#include "common/ipfs/car_store_backend.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/ipfs/car.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/reason.h"
#include "common/uri/cid.h"

namespace niftysave::ipfs {
namespace {

absl::Status IoError(absl::string_view what, const std::string& path) {
  return ErrorWithReason(absl::StatusCode::kInternal, "io_error",
                         absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

absl::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open", dir);
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok ? absl::OkStatus() : IoError("fsync", dir);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CarStoreBackend>> CarStoreBackend::Open(
    Options options) {
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("car store: no directory");
  }
  if (::mkdir(options.dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return IoError("mkdir", options.dir);
  }
  struct stat st;
  if (::stat(options.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      ::access(options.dir.c_str(), W_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("car store: not a writable directory: ", options.dir));
  }
  return std::unique_ptr<CarStoreBackend>(
      new CarStoreBackend(std::move(options)));
}

absl::StatusOr<std::string> CarStoreBackend::CarPath(
    const std::string& cid) const {
  absl::StatusOr<uri::Cid> parsed = uri::ParseCid(cid);
  if (!parsed.ok()) {
    return ErrorWithReason(absl::StatusCode::kInvalidArgument, "rejected",
                           parsed.status().message());
  }
  // Canonical CIDv1 base32, so "Qm..." and "bafy..." of one DAG agree.
  return absl::StrCat(options_.dir, "/", parsed->ToString(), ".car");
}

absl::StatusOr<std::string> CarStoreBackend::Upload(
    absl::string_view content, absl::string_view /*filename*/) {
  if (content.size() > options_.max_upload_bytes) {
    return ErrorWithReason(
        absl::StatusCode::kResourceExhausted, "too_large",
        absl::StrCat("upload of ", content.size(), " bytes over the limit of ",
                     options_.max_upload_bytes));
  }
  return Store(
      [&](UnixfsImporter& importer) { return importer.Update(content); });
}

absl::StatusOr<std::string> CarStoreBackend::UploadFile(
    const std::string& path, absl::string_view /*filename*/, size_t max_bytes) {
  const size_t limit = std::min(max_bytes, options_.max_upload_bytes);
  const absl::StatusOr<uint64_t> size = UploadFileSize(path, limit);
  if (!size.ok()) return size.status();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return ErrorWithReason(absl::StatusCode::kNotFound, "read_failed",
                           absl::StrCat("cannot read ", path));
  }
  return Store([&](UnixfsImporter& importer) {
    // A read buffer the file's size (most NFT assets are far below the 1 MiB
    // cap), not zero-filled: a 1 MiB zeroed buffer per pin was the pinner's
    // largest cost after the network (memset and its page faults).
    const size_t chunk_size =
        static_cast<size_t>(std::min<uint64_t>(uint64_t{1} << 20, *size + 1));
    const std::unique_ptr<char[]> chunk =
        std::make_unique_for_overwrite<char[]>(chunk_size);
    uint64_t total = 0;
    while (in) {
      in.read(chunk.get(), static_cast<std::streamsize>(chunk_size));
      const size_t got = static_cast<size_t>(in.gcount());
      total += got;
      // The file must not grow past the limit while it is read.
      if (total > limit) {
        return ErrorWithReason(
            absl::StatusCode::kInvalidArgument, "too_large",
            absl::StrCat(path, " grew over the limit of ", limit, " bytes"));
      }
      absl::Status s = importer.Update(absl::string_view(chunk.get(), got));
      if (!s.ok()) return s;
    }
    if (in.bad()) {
      return ErrorWithReason(absl::StatusCode::kUnavailable, "read_failed",
                             absl::StrCat("cannot read ", path));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> CarStoreBackend::Store(
    const std::function<absl::Status(UnixfsImporter&)>& feed) {
  static std::atomic<uint64_t> counter{0};
  const std::string temp = absl::StrCat(options_.dir, "/.tmp-", ::getpid(), "-",
                                        counter.fetch_add(1), ".car");
  const ImportProfile profile = IpfsCarProfile();
  absl::StatusOr<std::unique_ptr<CarWriter>> writer =
      CarWriter::Create(temp, PlaceholderRoot(profile.cid_version));
  if (!writer.ok()) return writer.status();
  UnixfsImporter importer(profile,
                          [&](const uri::Cid& cid, absl::string_view block) {
                            return (*writer)->Put(cid, block);
                          });
  absl::Status status = feed(importer);
  absl::StatusOr<uri::Cid> root =
      status.ok() ? importer.Finish() : absl::StatusOr<uri::Cid>(status);
  if (root.ok()) status = (*writer)->Finish(*root);  // flush + fsync + close
  if (!root.ok()) status = root.status();
  writer->reset();
  if (!status.ok()) {
    std::remove(temp.c_str());
    return status;
  }
  const std::string text = CidText(*root);
  absl::StatusOr<std::string> path = CarPath(text);
  if (!path.ok()) return path.status();
  if (std::rename(temp.c_str(), path->c_str()) != 0) {
    absl::Status error = IoError("rename", temp);
    std::remove(temp.c_str());
    return error;
  }
  if (absl::Status s = SyncDir(options_.dir); !s.ok()) return s;
  return text;
}

absl::Status CarStoreBackend::Verify(const std::string& path,
                                     const std::string& cid) const {
  absl::StatusOr<uri::Cid> want = uri::ParseCid(cid);
  if (!want.ok()) return want.status();
  absl::StatusOr<std::unique_ptr<CarReader>> reader = CarReader::Open(path);
  if (!reader.ok()) return reader.status();
  const std::vector<uri::Cid>& roots = (*reader)->roots();
  if (roots.size() != 1 || roots[0].ToString() != want->ToString()) {
    return absl::DataLossError(absl::StrCat(path, ": root is not ", cid));
  }
  bool has_root = false;
  for (;;) {
    absl::StatusOr<std::optional<CarBlock>> block = (*reader)->Next();
    if (!block.ok()) return block.status();
    if (!block->has_value()) break;
    if ((*block)->cid.ToString() == want->ToString()) has_root = true;
  }
  if (!has_root) {
    return absl::DataLossError(absl::StrCat(path, ": no root block"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PinState> CarStoreBackend::Status(const std::string& cid) {
  absl::StatusOr<std::string> path = CarPath(cid);
  if (!path.ok()) return path.status();
  struct stat st;
  if (::stat(path->c_str(), &st) != 0) {
    if (errno == ENOENT) return PinState::kFailed;
    return IoError("stat", *path);
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  {
    absl::MutexLock lock(&mu_);
    auto it = verified_.find(cid);
    if (it != verified_.end() && it->second == size) return PinState::kPinned;
  }
  if (!Verify(*path, cid).ok()) return PinState::kFailed;
  absl::MutexLock lock(&mu_);
  RememberVerified(cid, size);
  return PinState::kPinned;
}

void CarStoreBackend::RememberVerified(const std::string& cid, uint64_t size) {
  auto [it, added] = verified_.insert_or_assign(cid, size);
  if (!added) return;
  verified_order_.push_back(cid);
  while (verified_.size() > std::max<size_t>(1, options_.max_verified_cached)) {
    verified_.erase(verified_order_.front());
    verified_order_.pop_front();
  }
}

size_t CarStoreBackend::verified_cached() const {
  absl::MutexLock lock(&mu_);
  return verified_.size();
}

absl::StatusOr<PinReceipt> CarStoreBackend::PinCid(const std::string& cid) {
  absl::StatusOr<PinState> state = Status(cid);
  if (!state.ok()) return state.status();
  if (*state == PinState::kPinned) return PinReceipt{.state = *state};
  return ErrorWithReason(
      absl::StatusCode::kFailedPrecondition, "rejected",
      absl::StrCat("the local CAR store cannot fetch ", cid,
                   " from the network; only uploads are held"));
}

}  // namespace niftysave::ipfs
