#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/ipfs/pin_backend.h"

namespace niftysave::ipfs {

// Which PinBackends a service uses, read once from flags at start-up. The
// field comments name the flags the mains use for them.
struct BackendConfig {
  // --pin_backend: one kind, or a comma-separated list of distinct kinds
  // (e.g. "kubo,cluster"): kubo|pinning-service|car-store|cluster|car-upload.
  std::string kind = "kubo";
  // kubo
  std::string kubo_api_url;  // --kubo_api_url
  absl::Duration pin_timeout = absl::Minutes(2);
  size_t max_upload_bytes = size_t{512} << 20;
  // pinning-service
  std::string pinning_service_url;    // --pinning_service_url
  std::string pinning_service_token;  // --pinning_service_token (never logged)
  // car-store
  std::string car_store_dir;  // --car_store_dir
  // cluster (the IPFS Cluster REST API)
  std::string cluster_url;         // --cluster_url
  std::string cluster_basic_auth;  // --cluster_basic_auth "user:pass" (secret)
  std::string cluster_token;       // --cluster_token bearer (secret)
  // --cluster_replication_min/max: 0 = the cluster's configured default,
  // -1 = every peer, else 1..1000 (min <= max when both are set).
  int cluster_replication_min = 0;
  int cluster_replication_max = 0;
  // --cluster_pin_meta "k=v,k2=v2": sent as meta-k=v on every pin and add.
  std::map<std::string, std::string> cluster_pin_meta = {{"app", "niftysave"}};
  // car-upload (an nft.storage-style `POST /upload` of CAR files)
  std::string car_upload_url;    // --car_upload_url
  std::string car_upload_token;  // --car_upload_token bearer (secret)
  // --car_upload_max_bytes: each CAR piece's limit (nft.storage: 100 MB).
  uint64_t car_upload_max_bytes = 100'000'000;
  std::string car_upload_temp_dir;  // --car_upload_temp_dir ("" = $TMPDIR)
};

struct BackendConfigError {
  std::string flag;  // without dashes, for DieWithConfigError
  std::string message;
};

// The kinds named by `kind` ("kubo", "kubo,cluster", ...), in order.
// InvalidArgument for an empty list, an empty entry, an unknown kind or a
// kind named twice.
absl::StatusOr<std::vector<std::string>> ParseBackendKinds(
    const std::string& kind);

// Parses "k=v,k2=v2" (keys [A-Za-z0-9_.-], 1-64 chars; values up to 256
// chars, no ',' '=' or control characters); InvalidArgument otherwise.
absl::StatusOr<std::map<std::string, std::string>> ParseMetaList(
    const std::string& text);

// The first problem with `config` (for every kind it names), naming the flag
// to fix; nullopt if none.
std::optional<BackendConfigError> ValidateBackendConfig(
    const BackendConfig& config);

// Builds the one configured backend. `http` must outlive it (every backend
// but the CAR store talks through it). InvalidArgument ("--flag: message")
// for a bad config or for a list of more than one kind (use MakePinBackends);
// the CAR store's directory errors as they come.
absl::StatusOr<std::unique_ptr<PinBackend>> MakePinBackend(
    const BackendConfig& config, const http::HttpClient& http);

// Builds every backend `config.kind` names, in the order named (a single
// kind gives a vector of one). Same errors as MakePinBackend; nothing is
// returned unless every backend was built.
absl::StatusOr<std::vector<std::unique_ptr<PinBackend>>> MakePinBackends(
    const BackendConfig& config, const http::HttpClient& http);

}  // namespace niftysave::ipfs
