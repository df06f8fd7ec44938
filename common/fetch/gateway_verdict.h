#pragma once

// What both fetchers (the blocking ContentFetcher and the curl-multi
// AsyncFetcher) decide the same way about IPFS gateways: whether an answer
// holds the CID's bytes, whether a failure ends the failover at once, and
// the verdict over every gateway's failure.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/fetch/cid_verifier.h"

namespace niftysave::fetch {

class FetchMetrics;

// Checks one gateway's answer to the bare CID `cid` (the bytes, or the file
// they were streamed to when `file` is set) and counts the result in
// `metrics` (may be null): kVerified or kUnverifiable; `cid_mismatch` when
// that gateway served other bytes (the next one is tried); `read_failed`
// when the file cannot be read back.
absl::StatusOr<CidVerification> CheckGatewayAnswer(const std::string& cid,
                                                   std::string_view bytes,
                                                   const std::string* file,
                                                   FetchMetrics* metrics);

// True for a failure that would be the same on every gateway (`too_large`)
// or that is ours, not the gateway's (`memory_budget`, `write_failed`,
// `read_failed`): the failover stops with it.
bool EndsFailover(const absl::Status& failure);

// The verdict over every IPFS gateway's failure, as ContentFetcher
// documents it: http_4xx / cid_mismatch when every gateway gave a permanent
// answer (blocked_address when one of them redirected to an address the
// address policy refuses); otherwise gateway_timeout, rate_limited (with the
// earliest Retry-After) or gateway_unavailable. Fed one failure per gateway, in
// order.
class GatewayFailures {
 public:
  void Add(const std::string& gateway, const absl::Status& failure);
  absl::Status Verdict(const std::string& path) const;

 private:
  std::vector<std::string> failures_;
  int gone_ = 0, mismatch_ = 0, blocked_ = 0, timeout_ = 0, limited_ = 0,
      down_ = 0;
  bool not_found_ = false;
  std::optional<absl::Duration> retry_after_;
};

}  // namespace niftysave::fetch
