#include "common/http/host_slots.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "common/http/curl_common.h"

namespace niftysave::http {

namespace {

std::string KeyOf(absl::string_view url) {
  absl::StatusOr<std::string> key = HostKeyOf(std::string(url));
  return key.ok() ? *std::move(key) : absl::AsciiStrToLower(url);
}

}  // namespace

HostSlots::HostSlots(int per_host) : per_host_(std::max(1, per_host)) {}

HostSlots::Slot HostSlots::Acquire(absl::string_view url) {
  std::string key = KeyOf(url);
  absl::MutexLock lock(&mu_);
  auto free = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    auto it = running_.find(key);
    return it == running_.end() || it->second < per_host_;
  };
  mu_.Await(absl::Condition(&free));
  ++running_[key];
  return Slot(this, std::move(key));
}

int HostSlots::Running(absl::string_view url) const {
  absl::MutexLock lock(&mu_);
  auto it = running_.find(KeyOf(url));
  return it == running_.end() ? 0 : it->second;
}

void HostSlots::Release(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = running_.find(key);
  if (it != running_.end() && --it->second == 0) running_.erase(it);
}

HostSlots::Slot::~Slot() {
  if (slots_ != nullptr) slots_->Release(key_);
}

}  // namespace niftysave::http
