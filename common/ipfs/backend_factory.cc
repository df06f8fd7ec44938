#include "common/ipfs/backend_factory.h"

#include <cctype>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/ipfs/car_store_backend.h"
#include "common/ipfs/car_upload_backend.h"
#include "common/ipfs/cluster_backend.h"
#include "common/ipfs/kubo_backend.h"
#include "common/ipfs/pinning_service_backend.h"

namespace niftysave::ipfs {
namespace {

constexpr char kKnownKinds[] =
    "kubo, pinning-service, car-store, cluster or car-upload";

bool IsHttpUrl(const std::string& url) {
  return absl::StartsWith(url, "http://") || absl::StartsWith(url, "https://");
}

std::string WithoutTrailingSlashes(std::string url) {
  while (absl::EndsWith(url, "/")) url.pop_back();
  return url;
}

bool IsKnownKind(absl::string_view kind) {
  return kind == "kubo" || kind == "pinning-service" || kind == "car-store" ||
         kind == "cluster" || kind == "car-upload";
}

bool IsReplication(int n) { return n == -1 || (n >= 0 && n <= 1000); }

// Tokens and credentials go into an HTTP header: no control characters (a
// CR/LF would inject headers) and a sane length.
bool IsHeaderSafe(const std::string& secret) {
  if (secret.size() > 4096) return false;
  for (unsigned char c : secret) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::optional<BackendConfigError> ValidateKind(const BackendConfig& config,
                                               const std::string& kind) {
  if (kind == "kubo") {
    if (!IsHttpUrl(config.kubo_api_url)) {
      return BackendConfigError{"kubo_api_url",
                                "required with --pin_backend=kubo, an "
                                "http(s) URL"};
    }
  } else if (kind == "pinning-service") {
    if (!IsHttpUrl(config.pinning_service_url)) {
      return BackendConfigError{"pinning_service_url",
                                "required with --pin_backend=pinning-service, "
                                "an http(s) URL"};
    }
    if (config.pinning_service_token.empty()) {
      return BackendConfigError{"pinning_service_token",
                                "required with --pin_backend=pinning-service"};
    }
  } else if (kind == "car-store") {
    if (config.car_store_dir.empty()) {
      return BackendConfigError{"car_store_dir",
                                "required with --pin_backend=car-store"};
    }
  } else if (kind == "cluster") {
    if (!IsHttpUrl(config.cluster_url)) {
      return BackendConfigError{"cluster_url",
                                "required with --pin_backend=cluster, an "
                                "http(s) URL (the REST API, e.g. "
                                "http://127.0.0.1:9094)"};
    }
    if (!config.cluster_basic_auth.empty() &&
        (!IsHeaderSafe(config.cluster_basic_auth) ||
         !absl::StrContains(config.cluster_basic_auth, ':'))) {
      return BackendConfigError{"cluster_basic_auth",
                                "must be user:password (printable)"};
    }
    if (!IsHeaderSafe(config.cluster_token)) {
      return BackendConfigError{"cluster_token",
                                "must be printable, at most 4096 bytes"};
    }
    if (!config.cluster_basic_auth.empty() && !config.cluster_token.empty()) {
      return BackendConfigError{"cluster_token",
                                "set --cluster_basic_auth or --cluster_token, "
                                "not both"};
    }
    if (!IsReplication(config.cluster_replication_min)) {
      return BackendConfigError{"cluster_replication_min",
                                "must be -1 (everywhere), 0 (the cluster's "
                                "default) or 1-1000"};
    }
    if (!IsReplication(config.cluster_replication_max)) {
      return BackendConfigError{"cluster_replication_max",
                                "must be -1 (everywhere), 0 (the cluster's "
                                "default) or 1-1000"};
    }
    if (config.cluster_replication_min > 0 &&
        config.cluster_replication_max > 0 &&
        config.cluster_replication_min > config.cluster_replication_max) {
      return BackendConfigError{"cluster_replication_min",
                                "must not exceed --cluster_replication_max"};
    }
    if ((config.cluster_replication_min == -1) !=
            (config.cluster_replication_max == -1) &&
        config.cluster_replication_min != 0 &&
        config.cluster_replication_max != 0) {
      return BackendConfigError{"cluster_replication_max",
                                "-1 (everywhere) must be set on both "
                                "--cluster_replication_min and _max"};
    }
  } else if (kind == "car-upload") {
    if (!IsHttpUrl(config.car_upload_url)) {
      return BackendConfigError{"car_upload_url",
                                "required with --pin_backend=car-upload, an "
                                "http(s) URL (e.g. https://api.nft.storage)"};
    }
    if (config.car_upload_token.empty() ||
        !IsHeaderSafe(config.car_upload_token)) {
      return BackendConfigError{"car_upload_token",
                                "required with --pin_backend=car-upload "
                                "(printable, at most 4096 bytes)"};
    }
    // Room for the header and one 1 MiB block plus its section prefix.
    if (config.car_upload_max_bytes < (uint64_t{1} << 20) + 1024 ||
        config.car_upload_max_bytes > (uint64_t{4} << 30)) {
      return BackendConfigError{"car_upload_max_bytes",
                                "must be 1049600-4294967296 (one 1 MiB block "
                                "must fit in a piece)"};
    }
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<PinBackend>> MakeOne(
    const BackendConfig& config, const std::string& kind,
    const http::HttpClient& http) {
  if (kind == "kubo") {
    return std::make_unique<KuboBackend>(
        http,
        KuboBackend::Options{.api_url = config.kubo_api_url,
                             .pin_timeout = config.pin_timeout,
                             .max_upload_bytes = config.max_upload_bytes});
  }
  if (kind == "pinning-service") {
    return std::make_unique<PinningServiceBackend>(
        http,
        PinningServiceBackend::Options{
            .endpoint = WithoutTrailingSlashes(config.pinning_service_url),
            .access_token = config.pinning_service_token});
  }
  if (kind == "cluster") {
    ClusterBackend::Options options{
        .endpoint = WithoutTrailingSlashes(config.cluster_url),
        .basic_auth = config.cluster_basic_auth,
        .bearer_token = config.cluster_token,
        .replication_min = config.cluster_replication_min,
        .replication_max = config.cluster_replication_max,
        .meta = config.cluster_pin_meta,
        .max_upload_bytes = config.max_upload_bytes};
    return std::make_unique<ClusterBackend>(http, std::move(options));
  }
  if (kind == "car-upload") {
    return std::make_unique<CarUploadBackend>(
        http, CarUploadBackend::Options{
                  .endpoint = WithoutTrailingSlashes(config.car_upload_url),
                  .access_token = config.car_upload_token,
                  .max_car_bytes = config.car_upload_max_bytes,
                  .temp_dir = config.car_upload_temp_dir,
                  .max_upload_bytes = config.max_upload_bytes});
  }
  absl::StatusOr<std::unique_ptr<CarStoreBackend>> store =
      CarStoreBackend::Open({.dir = config.car_store_dir,
                             .max_upload_bytes = config.max_upload_bytes});
  if (!store.ok()) return store.status();
  return std::unique_ptr<PinBackend>(*std::move(store));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseBackendKinds(
    const std::string& kind) {
  std::vector<std::string> kinds;
  std::set<std::string> seen;
  for (absl::string_view part : absl::StrSplit(kind, ',')) {
    const std::string name(absl::StripAsciiWhitespace(part));
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "an empty entry in the list; each must be ", kKnownKinds));
    }
    if (!IsKnownKind(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown backend \"", name.substr(0, 64), "\"; must be ",
                       kKnownKinds));
    }
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("backend ", name, " is named twice"));
    }
    kinds.push_back(name);
  }
  return kinds;
}

absl::StatusOr<std::map<std::string, std::string>> ParseMetaList(
    const std::string& text) {
  std::map<std::string, std::string> meta;
  if (text.empty()) return meta;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    const absl::string_view key = absl::StripAsciiWhitespace(kv.first);
    const absl::string_view value = kv.second;
    if (key.empty() || key.size() > 64 || !absl::StrContains(item, '=')) {
      return absl::InvalidArgumentError(
          "each entry must be key=value with a 1-64 character key");
    }
    for (char c : key) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
            c == '-' || c == '.')) {
        return absl::InvalidArgumentError(
            "keys may hold only letters, digits, '_', '-' and '.'");
      }
    }
    if (value.size() > 256) {
      return absl::InvalidArgumentError("values are at most 256 characters");
    }
    for (unsigned char c : value) {
      if (c < 0x20 || c == 0x7f || c == '=') {
        return absl::InvalidArgumentError(
            "values may not hold control characters or '='");
      }
    }
    meta[std::string(key)] = std::string(value);
  }
  return meta;
}

std::optional<BackendConfigError> ValidateBackendConfig(
    const BackendConfig& config) {
  absl::StatusOr<std::vector<std::string>> kinds =
      ParseBackendKinds(config.kind);
  if (!kinds.ok()) {
    return BackendConfigError{"pin_backend",
                              std::string(kinds.status().message())};
  }
  for (const std::string& kind : *kinds) {
    if (std::optional<BackendConfigError> error = ValidateKind(config, kind)) {
      return error;
    }
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<std::unique_ptr<PinBackend>>> MakePinBackends(
    const BackendConfig& config, const http::HttpClient& http) {
  if (std::optional<BackendConfigError> error = ValidateBackendConfig(config)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", error->flag, ": ", error->message));
  }
  const absl::StatusOr<std::vector<std::string>> kinds =
      ParseBackendKinds(config.kind);
  if (!kinds.ok()) return kinds.status();  // validated above
  std::vector<std::unique_ptr<PinBackend>> backends;
  for (const std::string& kind : *kinds) {
    absl::StatusOr<std::unique_ptr<PinBackend>> backend =
        MakeOne(config, kind, http);
    if (!backend.ok()) return backend.status();
    backends.push_back(*std::move(backend));
  }
  return backends;
}

absl::StatusOr<std::unique_ptr<PinBackend>> MakePinBackend(
    const BackendConfig& config, const http::HttpClient& http) {
  absl::StatusOr<std::vector<std::unique_ptr<PinBackend>>> backends =
      MakePinBackends(config, http);
  if (!backends.ok()) return backends.status();
  if (backends->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--pin_backend: names ", backends->size(),
                     " backends; this service uses exactly one"));
  }
  return std::move(backends->front());
}

}  // namespace niftysave::ipfs
