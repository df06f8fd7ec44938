#include "common/http/host_slots.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace niftysave::http {

std::string HostKey(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return absl::AsciiStrToLower(url);
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  absl::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    rest = rest.substr(at + 1);
  }
  std::string host = absl::AsciiStrToLower(rest);
  // A port is what follows the last ':' outside an IPv6 literal's brackets.
  const size_t colon = host.rfind(':');
  const size_t bracket = host.rfind(']');
  const bool has_port = colon != std::string::npos &&
                        (bracket == std::string::npos || colon > bracket);
  if (!has_port) {
    absl::StrAppend(&host, scheme == "https" ? ":443" : ":80");
  }
  return absl::StrCat(scheme, "://", host);
}

HostSlots::HostSlots(int per_host) : per_host_(std::max(1, per_host)) {}

HostSlots::Slot HostSlots::Acquire(absl::string_view url) {
  std::string key = HostKey(url);
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
  auto it = running_.find(HostKey(url));
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
