#pragma once

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/fetch/content_fetcher.h"
#include "common/ipfs/pin_backend.h"
#include "common/uri/cid.h"
#include "services/pinner/pinner_repository.h"

namespace niftysave::pinner {

struct PinObserver {
  std::function<void(const std::string& backend, const std::string& outcome,
                     const std::string& reason)>
      finished =
          [](const std::string&, const std::string&, const std::string&) {};
  std::function<void(uint64_t)> bytes_uploaded = [](uint64_t) {};
  std::function<void(const std::vector<int64_t>&)> pins_requested =
      [](const std::vector<int64_t>&) {};
};

// OK when `reported` (any text form, v0 or v1) is `expected`; otherwise a
// permanent error with reason `cid_mismatch` (DataLoss: retrying will not
// change it).
absl::Status CheckSameCid(const uri::Cid& expected,
                          const std::string& reported);

// One worker step: lease resources from the 'pin' queue and make each
// durable — by CID when the resource is content-addressed, otherwise by
// uploading its bytes (the stored original metadata bytes when we have them,
// so the pinned CID is of exactly what was parsed; else a capped download).
// Before an upload the root CID is computed locally with the backend's import
// profile; the CID the backend reports must equal it (`cid_mismatch`).
class ResourcePinner {
 public:
  ResourcePinner(PinnerRepository& repo, const fetch::ContentFetcher& fetcher,
                 ipfs::PinBackend& backend, int batch_size,
                 PinObserver observer);
  int Step();

 private:
  struct Pinned {
    std::string cid;
    std::string request_id;
  };
  std::variant<Pinned, absl::Status> Pin(const ResourceToPin& resource);
  absl::StatusOr<uri::Cid> LocalCid(absl::string_view bytes) const;
  void Handle(const db::QueueItem& item);

  PinnerRepository& repo_;
  const fetch::ContentFetcher& fetcher_;
  ipfs::PinBackend& backend_;
  const int batch_size_;
  const PinObserver observer_;
};

}  // namespace niftysave::pinner
