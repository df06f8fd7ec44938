#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace niftysave::http {

// A cap on blocking transfers running at once against one host:port, for a
// service whose many workers each fetch with HttpClient (the pinner): one
// collection's server never sees more than `per_host` of them at a time
// however many workers there are, and the others go on with other hosts.
class HostSlots {
 public:
  explicit HostSlots(int per_host);

  // Held for the duration of one transfer.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : slots_(other.slots_), key_(other.key_) {
      other.slots_ = nullptr;
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot();

   private:
    friend class HostSlots;
    Slot(HostSlots* slots, std::string key)
        : slots_(slots), key_(std::move(key)) {}
    HostSlots* slots_;
    std::string key_;
  };

  // Waits while `per_host` transfers to the URL's host:port are running.
  // Counted by HostKeyOf (curl_common.h), as MultiClient's per-host cap is;
  // a URL curl does not parse (ipns://, ar://) counts by its own text.
  Slot Acquire(absl::string_view url);

  // Transfers running against `url`'s host:port now.
  int Running(absl::string_view url) const;

 private:
  void Release(const std::string& key);

  const int per_host_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> running_ ABSL_GUARDED_BY(mu_);
};

}  // namespace niftysave::http
