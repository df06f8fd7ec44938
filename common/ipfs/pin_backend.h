#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace niftysave::ipfs {

enum class PinState { kQueued, kPinning, kPinned, kFailed };
absl::string_view PinStateName(PinState state);  // "queued", "pinning", ...

struct PinReceipt {
  PinState state = PinState::kQueued;
  std::string request_id;  // backend's handle, when it has one
};

// Somewhere content is made durable on IPFS. Implementations: the kubo RPC
// API, the IPFS Pinning Service API and a local CAR store; IPFS Cluster
// later. Errors carry reasons (backend_unavailable, timeout, rejected, ...).
class PinBackend {
 public:
  virtual ~PinBackend() = default;

  // Stable name used in the `pins.backend` column and metric labels.
  virtual std::string name() const = 0;

  // Asks the backend to pin a CID it can fetch from the network.
  virtual absl::StatusOr<PinReceipt> PinCid(const std::string& cid) = 0;

  // Uploads bytes as a single UnixFS file (CIDv1, raw leaves) and pins them;
  // returns the root CID the backend computed (CIDv1 base32).
  virtual absl::StatusOr<std::string> Upload(absl::string_view content,
                                             absl::string_view filename) = 0;

  // Where the pin of `cid` stands now.
  virtual absl::StatusOr<PinState> Status(const std::string& cid) = 0;

  // Status of several CIDs in as few requests as the backend allows. CIDs the
  // backend holds no pin for are absent from the map. The default asks
  // Status() once per CID (a CID whose Status fails with NotFound is absent;
  // any other error fails the call).
  virtual absl::StatusOr<std::map<std::string, PinState>> StatusMany(
      const std::vector<std::string>& cids);

  // How many CIDs one StatusMany request carries (a caller batches by this
  // and budgets requests/s on it): 1 for backends without a batch query.
  virtual size_t max_status_batch() const { return 1; }

  // Uploads the file at `path` like Upload(). Backends that can stream
  // override this so the file is never held in memory whole; the default
  // reads it (refusing files over `max_bytes` with reason too_large) and
  // calls Upload().
  virtual absl::StatusOr<std::string> UploadFile(const std::string& path,
                                                 absl::string_view filename,
                                                 size_t max_bytes);

  // The UnixFS import profile (unixfs_importer.h: "kubo-v1", "ipfs-car")
  // whose root CID Upload returns, so a caller can compute the CID it must
  // get back before sending a byte.
  virtual std::string upload_profile() const { return "kubo-v1"; }

  // The longest one PinCid, Upload or UploadFile call can take before the
  // backend's own timeouts end it (every request of it, e.g. each piece of a
  // split upload). A lease held over the call must outlast it: the pinner's
  // and tracker's lease renewal windows are built from these.
  virtual absl::Duration longest_pin_call() const = 0;
  // The same for one Status or StatusMany call of up to max_status_batch()
  // CIDs.
  virtual absl::Duration longest_status_call() const = 0;
};

// The size of the file an UploadFile is asked for, refused over `limit`:
// reason read_failed (NotFound) when it cannot be read, too_large
// (InvalidArgument) when it is over. Every backend's UploadFile starts here.
absl::StatusOr<uint64_t> UploadFileSize(const std::string& path, size_t limit);

}  // namespace niftysave::ipfs
