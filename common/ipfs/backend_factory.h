#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/ipfs/pin_backend.h"

namespace niftysave::ipfs {

// Which PinBackend a service uses, read once from flags at start-up. The
// field comments name the flags the mains use for them.
struct BackendConfig {
  std::string kind = "kubo";  // --pin_backend: kubo|pinning-service|car-store
  // kubo
  std::string kubo_api_url;  // --kubo_api_url
  absl::Duration pin_timeout = absl::Minutes(2);
  size_t max_upload_bytes = size_t{512} << 20;
  // pinning-service
  std::string pinning_service_url;    // --pinning_service_url
  std::string pinning_service_token;  // --pinning_service_token (never logged)
  // car-store
  std::string car_store_dir;  // --car_store_dir
};

struct BackendConfigError {
  std::string flag;  // without dashes, for DieWithConfigError
  std::string message;
};

// The first problem with `config`, naming the flag to fix; nullopt if none.
std::optional<BackendConfigError> ValidateBackendConfig(
    const BackendConfig& config);

// Builds the configured backend. `http` must outlive it (kubo and the pinning
// service talk through it; the CAR store does not). InvalidArgument
// ("--flag: message") for a bad config; the CAR store's directory errors as
// they come.
absl::StatusOr<std::unique_ptr<PinBackend>> MakePinBackend(
    const BackendConfig& config, const http::HttpClient& http);

}  // namespace niftysave::ipfs
