#pragma once

#include <functional>
#include <map>
#include <string>

#include "common/ipfs/pin_backend.h"
#include "common/runtime/backoff.h"
#include "services/tracker/tracker_repository.h"

namespace niftysave::tracker {

// One worker step: lease pins from the 'track' queue, ask their backend
// where each stands, and record it — confirmed pins roll their tokens up to
// `archived`; the rest are looked at again on a back-off schedule.
class PinTracker {
 public:
  PinTracker(
      TrackerRepository& repo,
      std::map<std::string, ipfs::PinBackend*> backends, int batch_size,
      BackoffPolicy recheck,
      std::function<void(const std::string& backend, ipfs::PinState)> observed);
  int Step();

 private:
  void Handle(const db::QueueItem& item);

  TrackerRepository& repo_;
  const std::map<std::string, ipfs::PinBackend*> backends_;
  const int batch_size_;
  const BackoffPolicy recheck_;
  const std::function<void(const std::string&, ipfs::PinState)> observed_;
};

}  // namespace niftysave::tracker
