#pragma once

// Pieces every HTTP pin backend (Pinning Service API, IPFS Cluster, CAR
// upload) needs the same way: query escaping, safe JSON field access, and
// the one mapping from an HTTP error answer to a failure reason.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/http/http_client.h"
#include "nlohmann/json.hpp"

namespace niftysave::ipfs {

// Percent-encodes everything but RFC 3986 unreserved characters and those in
// `keep` (e.g. "/" for a CID with a path).
std::string QueryEscape(absl::string_view s, absl::string_view keep = "");

// o[key], or null when `o` is not an object or lacks the key (operator[] on
// a const json with a missing key is undefined behaviour).
const nlohmann::json& JsonField(const nlohmann::json& o, const char* key);

// A non-2xx answer as a Status with a reason, `message` naming the service,
// the code and what it said:
//   401/403 `unauthorized`, 413 `too_large` (final);
//   429 `rate_limited`, 5xx `backend_unavailable` (temporary; the answer's
//   Retry-After is attached, see RetryAfterOf);
//   anything else `rejected` (NotFound for 404, so callers can tell).
absl::Status BackendHttpError(const http::HttpResponse& response,
                              const std::string& message);

// A request that got no answer (the HttpClient's failure): a timeout stays
// `timeout`; anything else is `backend_unavailable` (temporary), the message
// prefixed with `service`.
absl::Status BackendTransportError(const absl::Status& failure,
                                   absl::string_view service);

}  // namespace niftysave::ipfs
