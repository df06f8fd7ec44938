#include "common/ipfs/backend_factory.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ipfs/car_store_backend.h"
#include "common/ipfs/kubo_backend.h"
#include "common/ipfs/pinning_service_backend.h"

namespace niftysave::ipfs {
namespace {

bool IsHttpUrl(const std::string& url) {
  return absl::StartsWith(url, "http://") || absl::StartsWith(url, "https://");
}

}  // namespace

std::optional<BackendConfigError> ValidateBackendConfig(
    const BackendConfig& config) {
  if (config.kind == "kubo") {
    if (!IsHttpUrl(config.kubo_api_url)) {
      return BackendConfigError{"kubo_api_url",
                                "required with --pin_backend=kubo, an "
                                "http(s) URL"};
    }
  } else if (config.kind == "pinning-service") {
    if (!IsHttpUrl(config.pinning_service_url)) {
      return BackendConfigError{"pinning_service_url",
                                "required with --pin_backend=pinning-service, "
                                "an http(s) URL"};
    }
    if (config.pinning_service_token.empty()) {
      return BackendConfigError{"pinning_service_token",
                                "required with --pin_backend=pinning-service"};
    }
  } else if (config.kind == "car-store") {
    if (config.car_store_dir.empty()) {
      return BackendConfigError{"car_store_dir",
                                "required with --pin_backend=car-store"};
    }
  } else {
    return BackendConfigError{"pin_backend",
                              "must be kubo, pinning-service or car-store"};
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<PinBackend>> MakePinBackend(
    const BackendConfig& config, const http::HttpClient& http) {
  if (std::optional<BackendConfigError> error = ValidateBackendConfig(config)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", error->flag, ": ", error->message));
  }
  if (config.kind == "kubo") {
    return std::make_unique<KuboBackend>(
        http,
        KuboBackend::Options{.api_url = config.kubo_api_url,
                             .pin_timeout = config.pin_timeout,
                             .max_upload_bytes = config.max_upload_bytes});
  }
  if (config.kind == "pinning-service") {
    std::string endpoint = config.pinning_service_url;
    while (absl::EndsWith(endpoint, "/")) endpoint.pop_back();
    return std::make_unique<PinningServiceBackend>(
        http, PinningServiceBackend::Options{
                  .endpoint = std::move(endpoint),
                  .access_token = config.pinning_service_token});
  }
  absl::StatusOr<std::unique_ptr<CarStoreBackend>> store =
      CarStoreBackend::Open({.dir = config.car_store_dir,
                             .max_upload_bytes = config.max_upload_bytes});
  if (!store.ok()) return store.status();
  return std::unique_ptr<PinBackend>(*std::move(store));
}

}  // namespace niftysave::ipfs
