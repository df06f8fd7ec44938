#include "services/pinner/pinner_config.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "common/fetch/fetch_flags.h"
#include "common/ipfs/backend_flags.h"
#include "common/runtime/flags.h"

ABSL_FLAG(double, pin_timeout_seconds, 120,
          "timeout passed to pin/add (1-86400)");
ABSL_FLAG(int64_t, max_asset_bytes, 256 << 20,
          "largest asset downloaded for upload (1 KiB-4 GiB)");
ABSL_FLAG(int64_t, max_pin_bytes, int64_t{1} << 30,
          "most bytes a pin by CID may hold, from the root block's link "
          "sizes; over it only what the URI's path names is pinned, or the "
          "resource fails too_large (1 KiB-1 TiB)");
ABSL_FLAG(double, fetch_timeout_seconds, 120,
          "total time for one download (1-3600)");
ABSL_FLAG(double, first_byte_timeout_seconds, 15,
          "a download with no response byte by then fails (1-600)");
ABSL_FLAG(int64_t, low_speed_bytes_per_second, 1024,
          "a download slower than this for --low_speed_seconds fails "
          "(0: off, up to 1 GiB/s)");
ABSL_FLAG(int, low_speed_seconds, 30,
          "how long a download may stay under --low_speed_bytes_per_second "
          "(1-3600)");
ABSL_FLAG(std::string, tracker_addr, "",
          "tracker gRPC host:port to notify (optional)");
ABSL_FLAG(int, notify_window_ms, 100,
          "the tracker hand-offs of this long, from the first, go out as one "
          "call (0: one call per resource, from its worker) (0-5000)");
ABSL_FLAG(int, max_per_host, 8,
          "downloads running at once against one host:port, whatever "
          "--workers is (1-1000)");
ABSL_FLAG(int, replication, 1,
          "pins per resource, on the first --pin_backend entries that accept "
          "it (1..number of backends)");
ABSL_FLAG(std::string, tmp_dir, "",
          "directory downloads are streamed to before upload (default "
          "$TMPDIR, else /tmp)");
ABSL_FLAG(int64_t, download_memory_bytes, 32 << 20,
          "memory for downloads held whole, across --workers: each worker "
          "keeps a download of up to this / --workers bytes (at most 1 MiB) "
          "in memory instead of a --tmp_dir file (0: always the file; "
          "0-1 GiB)");

namespace niftysave::pinner {
namespace {

// The download limits. First-byte and low-speed limits as the extractor's: a
// server that answers nothing, or drips, frees the worker long before the
// total.
http::HttpLimits ReadDownloadLimits(int64_t max_bytes, double total_seconds) {
  const double first_byte =
      GetFlagInRange(FLAGS_first_byte_timeout_seconds, 1.0, 600.0);
  const int64_t low_speed = GetFlagInRange(FLAGS_low_speed_bytes_per_second,
                                           int64_t{0}, int64_t{1} << 30);
  const int low_speed_seconds =
      GetFlagInRange(FLAGS_low_speed_seconds, 1, 3600);
  return {.max_body_bytes = static_cast<size_t>(max_bytes),
          .total_timeout = absl::Seconds(total_seconds),
          .first_byte_timeout = absl::Seconds(first_byte),
          .low_speed_bytes_per_second = low_speed,
          .low_speed_time = absl::Seconds(low_speed_seconds)};
}

// --tmp_dir, else $TMPDIR, else /tmp; it must be a writable directory.
std::string ReadTmpDir() {
  std::string tmp_dir = absl::GetFlag(FLAGS_tmp_dir);
  if (tmp_dir.empty()) {
    const char* env = std::getenv("TMPDIR");
    tmp_dir = env != nullptr && env[0] != '\0' ? env : "/tmp";
  }
  if (access(tmp_dir.c_str(), W_OK | X_OK) != 0)
    DieWithConfigError("tmp_dir", "not a writable directory: " + tmp_dir);
  return tmp_dir;
}

// How many backends --pin_backend names.
int ReadBackendCount(const ipfs::BackendConfig& backends) {
  absl::StatusOr<std::vector<std::string>> kinds =
      ipfs::ParseBackendKinds(backends.kind);
  if (!kinds.ok()) DieWithConfigError("pin_backend", kinds.status().message());
  return static_cast<int>(std::max<size_t>(1, kinds->size()));
}

}  // namespace

PinnerConfig ReadPinnerConfig() {
  PinnerConfig config;
  const double pin_timeout =
      GetFlagInRange(FLAGS_pin_timeout_seconds, 1.0, 86400.0);
  const fetch::FetchFlags fetch_flags =
      fetch::FetchFlagsFromFlags(/*require_gateway=*/false);
  // Pins by CID are checked from the root's blocks first (path, size).
  if (fetch_flags.ipfs_gateways.empty() && fetch_flags.ipfs_api_url.empty())
    DieWithConfigError("ipfs_gateways",
                       "a trustless gateway (--ipfs_gateways) or an IPFS "
                       "node API (--ipfs_api_url) is required to check pins "
                       "by CID before they are made");
  const int64_t max_pin_bytes =
      GetFlagInRange(FLAGS_max_pin_bytes, int64_t{1} << 10, int64_t{1} << 40);
  const int64_t max_bytes = absl::GetFlag(FLAGS_max_asset_bytes);
  if (max_bytes < 1024 || max_bytes > (int64_t{4} << 30))
    DieWithConfigError("max_asset_bytes", "must be 1 KiB-4 GiB");
  const double timeout =
      GetFlagInRange(FLAGS_fetch_timeout_seconds, 1.0, 3600.0);
  config.queue = ReadQueueWorkerFlags();
  config.pin_queue = {.lease = absl::Seconds(30),
                      .max_attempts = *config.queue.max_attempts,
                      .max_lost_leases = *config.queue.max_attempts};

  const http::HttpLimits limits = ReadDownloadLimits(max_bytes, timeout);
  config.user_http = {.limits = limits,
                      .address_policy = fetch_flags.address_policy,
                      .ca_file = fetch_flags.ca_file};
  config.gateway_http = config.user_http;
  config.gateway_http.trust_first_hop = true;
  config.backend_http = {.limits = limits, .ca_file = fetch_flags.ca_file};
  config.backend_http.limits.first_byte_timeout = absl::InfiniteDuration();
  config.backend_http.limits.low_speed_bytes_per_second = 0;
  config.fetcher = {.ipfs_gateways = fetch_flags.ipfs_gateways,
                    .arweave_gateway = fetch_flags.arweave_gateway,
                    .max_bytes = static_cast<size_t>(max_bytes),
                    .ipfs_api_url = fetch_flags.ipfs_api_url};

  config.backends = ipfs::BackendConfigFromFlags();
  const int backend_count = ReadBackendCount(config.backends);
  config.backends.pin_timeout = absl::Seconds(pin_timeout);
  config.backends.max_upload_bytes = static_cast<size_t>(max_bytes);
  config.pinner = {
      .batch_size = config.queue.batch_size,
      // 1..the number of backends.
      .replication = GetFlagInRange(FLAGS_replication, 1, backend_count),
      .tmp_dir = ReadTmpDir(),
      .download_memory_bytes = DownloadMemoryBytes(
          static_cast<size_t>(GetFlagInRange(FLAGS_download_memory_bytes,
                                             int64_t{0}, int64_t{1} << 30)),
          config.queue.workers),
      .max_upload_bytes = static_cast<size_t>(max_bytes),
      .max_pin_bytes = static_cast<uint64_t>(max_pin_bytes),
      .max_per_host = GetFlagInRange(FLAGS_max_per_host, 1, 1000)};
  config.fetch_timeout = absl::Seconds(timeout);
  config.tracker_addr = absl::GetFlag(FLAGS_tracker_addr);
  config.notify_window =
      absl::Milliseconds(GetFlagInRange(FLAGS_notify_window_ms, 0, 5000));
  return config;
}

void BoundByBackends(PinnerConfig& config,
                     const std::vector<ipfs::PinBackend*>& backends) {
  config.pinner.claim_wait = ClaimWait(config.fetch_timeout, backends);
  // The heartbeat renews a batch's leases this long after the step's last
  // progress (one resource).
  config.pin_queue.renew_for = LongestResource(
      config.pinner, config.queue.workers, config.fetch_timeout, backends);
}

}  // namespace niftysave::pinner
