#pragma once

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "common/fetch/content_fetcher.h"
#include "common/ipfs/pin_backend.h"
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

// One worker step: lease resources from the 'pin' queue and make each
// durable — by CID when the resource is content-addressed, otherwise by
// uploading its bytes (the stored original metadata bytes when we have them,
// so the pinned CID is of exactly what was parsed; else a capped download).
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
  void Handle(const db::QueueItem& item);

  PinnerRepository& repo_;
  const fetch::ContentFetcher& fetcher_;
  ipfs::PinBackend& backend_;
  const int batch_size_;
  const PinObserver observer_;
};

}  // namespace niftysave::pinner
