#include "common/ipfs/backend_http.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/runtime/reason.h"

namespace niftysave::ipfs {

std::string QueryEscape(absl::string_view s, absl::string_view keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        keep.find(static_cast<char>(c)) != absl::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

const nlohmann::json& JsonField(const nlohmann::json& o, const char* key) {
  static const nlohmann::json kNull;
  if (!o.is_object()) return kNull;
  auto it = o.find(key);
  return it == o.end() ? kNull : *it;
}

absl::Status BackendHttpError(const http::HttpResponse& response,
                              const std::string& message) {
  const int code = response.status;
  if (code == 401 || code == 403) {
    return ErrorWithReason(absl::StatusCode::kPermissionDenied, "unauthorized",
                           message);
  }
  if (code == 413) {
    return ErrorWithReason(absl::StatusCode::kInvalidArgument, "too_large",
                           message);
  }
  absl::Status status;
  if (code == 429) {
    status = ErrorWithReason(absl::StatusCode::kUnavailable, "rate_limited",
                             message);
  } else if (code >= 500) {
    status = ErrorWithReason(absl::StatusCode::kUnavailable,
                             "backend_unavailable", message);
  } else {
    status =
        ErrorWithReason(code == 404 ? absl::StatusCode::kNotFound
                                    : absl::StatusCode::kFailedPrecondition,
                        "rejected", message);
  }
  if (response.retry_after.has_value() && (code == 429 || code >= 500)) {
    status = WithRetryAfter(std::move(status), *response.retry_after);
  }
  return status;
}

absl::Status BackendTransportError(const absl::Status& failure,
                                   absl::string_view service) {
  if (ReasonOf(failure) == "timeout") return failure;
  return ErrorWithReason(absl::StatusCode::kUnavailable, "backend_unavailable",
                         absl::StrCat(service, ": ", failure.message()));
}

}  // namespace niftysave::ipfs
