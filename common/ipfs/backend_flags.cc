#include "common/ipfs/backend_flags.h"

#include "absl/flags/flag.h"
#include "common/runtime/flags.h"

ABSL_FLAG(std::string, pin_backend, "kubo",
          "where content is pinned: kubo, pinning-service or car-store");
ABSL_FLAG(
    std::string, kubo_api_url, "",
    "kubo RPC API base URL, e.g. http://127.0.0.1:5001 (pin_backend=kubo)");
ABSL_FLAG(std::string, pinning_service_url, "",
          "IPFS Pinning Service API base URL (pin_backend=pinning-service)");
ABSL_FLAG(std::string, pinning_service_token, "",
          "bearer token for the pinning service; prefer the env var "
          "NIFTYSAVE_PINNING_SERVICE_TOKEN");
ABSL_FLAG(std::string, car_store_dir, "",
          "directory of the local CAR store (pin_backend=car-store)");

namespace niftysave::ipfs {

BackendConfig BackendConfigFromFlags() {
  BackendConfig config{
      .kind = absl::GetFlag(FLAGS_pin_backend),
      .kubo_api_url = absl::GetFlag(FLAGS_kubo_api_url),
      .pinning_service_url = absl::GetFlag(FLAGS_pinning_service_url),
      .pinning_service_token = absl::GetFlag(FLAGS_pinning_service_token),
      .car_store_dir = absl::GetFlag(FLAGS_car_store_dir)};
  if (auto error = ValidateBackendConfig(config)) {
    DieWithConfigError(error->flag, error->message);
  }
  return config;
}

}  // namespace niftysave::ipfs
