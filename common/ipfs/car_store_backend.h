#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/ipfs/pin_backend.h"
#include "common/ipfs/unixfs_importer.h"

namespace niftysave::ipfs {

// The embedded default for a single machine: every upload becomes one CAR v1
// file in a directory, named by its root CID (`<cidv1-base32>.car`), so the
// directory listing is the index of what is held. Uploads are imported with
// the ipfs-car profile (the CIDs nft.storage clients compute).
//
// Durability: a CAR is written under a temporary name, fsynced, renamed into
// place and the directory fsynced, so a crash leaves either no file or a
// whole one. "Pinned" means present and complete: every block verifies
// against its CID and the root block (written last) is there, so a
// truncated file is never reported pinned.
//
// It cannot fetch from the network: PinCid of a CID it does not hold is
// FailedPrecondition. Thread-safe; several processes may share a directory.
class CarStoreBackend final : public PinBackend {
 public:
  struct Options {
    std::string dir;  // created if missing
    size_t max_upload_bytes = size_t{4} << 30;
    // CARs remembered as verified (CID and size), the oldest forgotten
    // first: about 100 bytes each, so at most about 6.5 MB. A forgotten one
    // is read and verified again at its next status check.
    size_t max_verified_cached = 65536;
  };
  // Creates the directory (not its parents) when it does not exist.
  static absl::StatusOr<std::unique_ptr<CarStoreBackend>> Open(Options options);

  std::string name() const override { return "car-store"; }
  absl::StatusOr<PinReceipt> PinCid(const std::string& cid) override;
  absl::StatusOr<std::string> Upload(absl::string_view content,
                                     absl::string_view filename) override;
  // Imports straight from the file, 1 MiB at a time (never held in memory).
  absl::StatusOr<std::string> UploadFile(const std::string& path,
                                         absl::string_view filename,
                                         size_t max_bytes) override;
  // kPinned when the CID's CAR is present and complete; kFailed otherwise
  // (nothing here would ever make it appear by itself).
  absl::StatusOr<PinState> Status(const std::string& cid) override;
  // A status check here is a look at a local file (each CAR read and
  // verified once, then remembered), not a remote request: a caller that
  // paces requests to a backend (the tracker's --status_requests_per_second)
  // counts one for this many CIDs.
  static constexpr size_t kStatusBatch = 256;
  size_t max_status_batch() const override { return kStatusBatch; }

  // CARs remembered as verified now (at most max_verified_cached).
  size_t verified_cached() const;
  std::string upload_profile() const override { return "ipfs-car"; }
  // No network and no timeout of its own: local reads and writes of up to
  // max_upload_bytes (a status call, of CARs not verified before). An
  // allowance, not a bound: a disk slower than that is stalled.
  static constexpr absl::Duration kLocalCallAllowance = absl::Minutes(10);
  absl::Duration longest_pin_call() const override {
    return kLocalCallAllowance;
  }
  absl::Duration longest_status_call() const override {
    return kLocalCallAllowance;
  }

  // Where the CAR of `cid` lives (whether or not it exists).
  absl::StatusOr<std::string> CarPath(const std::string& cid) const;

 private:
  explicit CarStoreBackend(Options options) : options_(std::move(options)) {}
  // Writes one CAR from what `feed` passes to the importer, then renames it
  // to its root CID's name; the CID's text.
  absl::StatusOr<std::string> Store(
      const std::function<absl::Status(UnixfsImporter&)>& feed);
  // Reads the whole CAR: header root == cid, every block verified, the
  // root block present.
  absl::Status Verify(const std::string& path, const std::string& cid) const;

  const Options options_;
  // CARs already verified, by CID, with the size they had then: a status
  // check re-reads a file only when it changed. Bounded: the tracker checks
  // every pin it is told of, and an unbounded map grew by one entry a pin.
  void RememberVerified(const std::string& cid, uint64_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, uint64_t> verified_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> verified_order_ ABSL_GUARDED_BY(mu_);  // oldest first
};

}  // namespace niftysave::ipfs
