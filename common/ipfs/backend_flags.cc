#include "common/ipfs/backend_flags.h"

#include <cstdint>

#include "absl/flags/flag.h"
#include "common/runtime/flags.h"

ABSL_FLAG(std::string, pin_backend, "kubo",
          "where content is pinned: kubo, pinning-service, car-store, cluster "
          "or car-upload, or a comma-separated list of them (e.g. "
          "kubo,cluster)");
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
ABSL_FLAG(std::string, cluster_url, "",
          "IPFS Cluster REST API base URL, e.g. http://127.0.0.1:9094 "
          "(pin_backend=cluster)");
ABSL_FLAG(std::string, cluster_basic_auth, "",
          "user:password for the cluster REST API's basic auth; prefer the "
          "env var NIFTYSAVE_CLUSTER_BASIC_AUTH");
ABSL_FLAG(std::string, cluster_token, "",
          "bearer token for the cluster REST API (instead of basic auth); "
          "prefer the env var NIFTYSAVE_CLUSTER_TOKEN");
ABSL_FLAG(int, cluster_replication_min, 0,
          "replication-min of every cluster pin: 0 = the cluster's default, "
          "-1 = every peer, else 1-1000");
ABSL_FLAG(int, cluster_replication_max, 0,
          "replication-max of every cluster pin: 0 = the cluster's default, "
          "-1 = every peer, else 1-1000");
ABSL_FLAG(std::string, cluster_pin_meta, "app=niftysave",
          "metadata on every cluster pin, as k=v,k2=v2 (sent as meta-k=v)");
ABSL_FLAG(std::string, car_upload_url, "",
          "nft.storage-style CAR upload API base URL, e.g. "
          "https://api.nft.storage (pin_backend=car-upload)");
ABSL_FLAG(std::string, car_upload_token, "",
          "bearer token for the CAR upload API; prefer the env var "
          "NIFTYSAVE_CAR_UPLOAD_TOKEN");
ABSL_FLAG(uint64_t, car_upload_max_bytes, 100'000'000,
          "largest CAR sent in one POST /upload; bigger DAGs are split into "
          "pieces (nft.storage accepts 100 MB)");
ABSL_FLAG(std::string, car_upload_temp_dir, "",
          "where the CAR pieces are written before upload (default: the "
          "system temp dir)");

namespace niftysave::ipfs {

BackendConfig BackendConfigFromFlags() {
  BackendConfig config{
      .kind = absl::GetFlag(FLAGS_pin_backend),
      .kubo_api_url = absl::GetFlag(FLAGS_kubo_api_url),
      .pinning_service_url = absl::GetFlag(FLAGS_pinning_service_url),
      .pinning_service_token = absl::GetFlag(FLAGS_pinning_service_token),
      .car_store_dir = absl::GetFlag(FLAGS_car_store_dir),
      .cluster_url = absl::GetFlag(FLAGS_cluster_url),
      .cluster_basic_auth = absl::GetFlag(FLAGS_cluster_basic_auth),
      .cluster_token = absl::GetFlag(FLAGS_cluster_token),
      .cluster_replication_min = absl::GetFlag(FLAGS_cluster_replication_min),
      .cluster_replication_max = absl::GetFlag(FLAGS_cluster_replication_max),
      .car_upload_url = absl::GetFlag(FLAGS_car_upload_url),
      .car_upload_token = absl::GetFlag(FLAGS_car_upload_token),
      .car_upload_max_bytes = absl::GetFlag(FLAGS_car_upload_max_bytes),
      .car_upload_temp_dir = absl::GetFlag(FLAGS_car_upload_temp_dir)};
  absl::StatusOr<std::map<std::string, std::string>> meta =
      ParseMetaList(absl::GetFlag(FLAGS_cluster_pin_meta));
  if (!meta.ok()) {
    DieWithConfigError("cluster_pin_meta", meta.status().message());
  }
  config.cluster_pin_meta = *std::move(meta);
  if (auto error = ValidateBackendConfig(config)) {
    DieWithConfigError(error->flag, error->message);
  }
  return config;
}

}  // namespace niftysave::ipfs
