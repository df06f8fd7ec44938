// niftysave-pinner: makes every resource durable on IPFS.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_split.h"
#include "common/db/work_queue.h"
#include "common/fetch/content_fetcher.h"
#include "common/fetch/fetch_flags.h"
#include "common/fetch/fetch_metrics.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/notify.h"
#include "common/ipfs/backend_factory.h"
#include "common/ipfs/backend_flags.h"
#include "common/ipfs/dag_walk.h"
#include "common/runtime/flags.h"
#include "common/runtime/log.h"
#include "common/runtime/worker.h"
#include "common/service/service_base.h"
#include "niftysave/v1/tracker.grpc.pb.h"
#include "services/pinner/pinner_grpc.h"
#include "services/pinner/resource_pinner.h"

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
ABSL_FLAG(int, workers, 4, "concurrent pin workers (1-256)");
ABSL_FLAG(int, batch_size, 8, "resources leased per worker step (1-1000)");
ABSL_FLAG(int, max_attempts, 8,
          "attempts before a temporary failure becomes final (1-100)");
ABSL_FLAG(double, poll_seconds, 2.0,
          "queue poll interval when idle (0.05-3600)");
ABSL_FLAG(std::string, tracker_addr, "",
          "tracker gRPC host:port to notify (optional)");
ABSL_FLAG(int, replication, 1,
          "pins per resource, on the first --pin_backend entries that accept "
          "it (1..number of backends)");
ABSL_FLAG(std::string, tmp_dir, "",
          "directory downloads are streamed to before upload (default "
          "$TMPDIR, else /tmp)");

using namespace niftysave;

int main(int argc, char** argv) {
  ServiceBase base;
  InitService(argc, argv, "pinner",
              "niftysave-pinner --database_url=... --kubo_api_url=URL", 50063,
              9463, base);
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
  const int workers = GetFlagInRange(FLAGS_workers, 1, 256);
  const int batch = GetFlagInRange(FLAGS_batch_size, 1, 1000);
  const int attempts = GetFlagInRange(FLAGS_max_attempts, 1, 100);
  const double poll = GetFlagInRange(FLAGS_poll_seconds, 0.05, 3600.0);

  // First-byte and low-speed limits as the extractor's: a server that
  // answers nothing, or drips, frees the worker long before the total.
  const double first_byte =
      GetFlagInRange(FLAGS_first_byte_timeout_seconds, 1.0, 600.0);
  const int64_t low_speed = GetFlagInRange(FLAGS_low_speed_bytes_per_second,
                                           int64_t{0}, int64_t{1} << 30);
  const int low_speed_seconds =
      GetFlagInRange(FLAGS_low_speed_seconds, 1, 3600);
  http::HttpLimits limits{.max_body_bytes = static_cast<size_t>(max_bytes),
                          .total_timeout = absl::Seconds(timeout),
                          .first_byte_timeout = absl::Seconds(first_byte),
                          .low_speed_bytes_per_second = low_speed,
                          .low_speed_time = absl::Seconds(low_speed_seconds)};
  http::HttpClient user_http({.limits = limits,
                              .address_policy = fetch_flags.address_policy,
                              .ca_file = fetch_flags.ca_file});
  // Gateways only on the first hop; their redirects are judged like user
  // URLs (see HttpClientOptions::trust_first_hop).
  http::HttpClient gateway_http({.limits = limits,
                                 .address_policy = fetch_flags.address_policy,
                                 .trust_first_hop = true,
                                 .ca_file = fetch_flags.ca_file});
  // Pin backends are the operator's own endpoints, trusted on every hop.
  // They answer pin/add only once the pin is done: no first-byte or
  // low-speed limit there, only the total.
  http::HttpLimits backend_limits = limits;
  backend_limits.first_byte_timeout = absl::InfiniteDuration();
  backend_limits.low_speed_bytes_per_second = 0;
  http::HttpClient trusted_http(
      {.limits = backend_limits, .ca_file = fetch_flags.ca_file});
  ipfs::BackendConfig backend_config = ipfs::BackendConfigFromFlags();
  backend_config.pin_timeout = absl::Seconds(pin_timeout);
  backend_config.max_upload_bytes = static_cast<size_t>(max_bytes);
  auto made = ipfs::MakePinBackends(backend_config, trusted_http);
  if (!made.ok()) DieWithConfigError("pin_backend", made.status().message());
  std::vector<ipfs::PinBackend*> backends;
  for (const auto& b : *made) backends.push_back(b.get());
  const int replication =
      GetFlagInRange(FLAGS_replication, 1,
                     static_cast<int>(std::max<size_t>(1, backends.size())));
  std::string tmp_dir = absl::GetFlag(FLAGS_tmp_dir);
  if (tmp_dir.empty()) {
    const char* env = std::getenv("TMPDIR");
    tmp_dir = env != nullptr && env[0] != '\0' ? env : "/tmp";
  }
  if (access(tmp_dir.c_str(), W_OK | X_OK) != 0)
    DieWithConfigError("tmp_dir", "not a writable directory: " + tmp_dir);
  ConnectOrDie(base);
  fetch::FetchMetrics fetch_metrics(base.metrics->Counter(
      "cid_verifications_total",
      "IPFS gateway answers to a bare CID, by verification result"));
  fetch::ContentFetcher fetcher(user_http, gateway_http,
                                {.ipfs_gateways = fetch_flags.ipfs_gateways,
                                 .arweave_gateway = fetch_flags.arweave_gateway,
                                 .max_bytes = static_cast<size_t>(max_bytes),
                                 .ipfs_api_url = fetch_flags.ipfs_api_url,
                                 .metrics = &fetch_metrics});
  db::WorkQueue queue(
      *base.pool, "pin", base.name + "-" + std::to_string(getpid()),
      {.lease = absl::Seconds(std::max(pin_timeout, timeout) * 2 + 60),
       .max_attempts = attempts,
       .max_lost_leases = attempts});
  pinner::PgPinnerRepository repo(*base.pool, queue);

  const std::string tracker_addr = absl::GetFlag(FLAGS_tracker_addr);
  std::unique_ptr<v1::Tracker::Stub> tracker;
  if (!tracker_addr.empty())
    tracker = v1::Tracker::NewStub(MakeChannel(tracker_addr, base.grpc_client));
  auto& outcomes = base.metrics->Counter(
      "pins_total", "Pin requests, by backend, outcome and reason");
  auto& uploaded =
      base.metrics
          ->Counter("uploaded_bytes_total", "Bytes uploaded to pin backends")
          .Add({});
  auto& bytes = base.metrics->Counter(
      "bytes_total", "Asset bytes by stage: downloaded, hashed, uploaded");
  auto& upload_seconds = base.metrics->Histogram(
      "upload_duration_seconds", "Time of one upload, by backend");
  auto& under_replicated = base.metrics->Counter(
      "under_replicated_total",
      "Resources left with fewer than --replication pins, by reason");
  const prometheus::Histogram::BucketBoundaries upload_buckets = {
      0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
  pinner::PinObserver observer{
      .finished =
          [&](const std::string& b, const std::string& outcome,
              const std::string& reason) {
            outcomes
                .Add({{"backend", b}, {"outcome", outcome}, {"reason", reason}})
                .Increment();
          },
      .bytes =
          [&](const std::string& stage, uint64_t n) {
            bytes.Add({{"stage", stage}}).Increment(static_cast<double>(n));
            if (stage == "uploaded") uploaded.Increment(static_cast<double>(n));
          },
      .upload_time =
          [&](const std::string& b, absl::Duration d) {
            upload_seconds.Add({{"backend", b}}, upload_buckets)
                .Observe(absl::ToDoubleSeconds(d));
          },
      .under_replicated =
          [&](const std::string& reason) {
            under_replicated.Add({{"reason", reason}}).Increment();
          },
      .pins_requested =
          [&](const std::vector<int64_t>& ids) {
            if (tracker == nullptr) return;
            v1::TrackRequest request;
            for (int64_t id : ids)
              request.add_pin_ids(static_cast<uint64_t>(id));
            v1::TrackResponse response;
            NotifyBestEffort("tracker", [&](grpc::ClientContext* context) {
              return tracker->Track(context, request, &response);
            });
          }};
  // Blocks for the checks before a pin by CID, kept across resources: the
  // tokens of one collection share a root (32 MiB at most, about 2,000
  // directory blocks).
  ipfs::CachedBlockSource blocks(
      [&fetcher](const uri::Cid& cid) { return fetcher.FetchBlock(cid); },
      size_t{32} << 20);
  pinner::ResourcePinner step(
      repo, fetcher, blocks.AsSource(), backends,
      {.batch_size = batch,
       .replication = replication,
       .tmp_dir = tmp_dir,
       .max_upload_bytes = static_cast<size_t>(max_bytes),
       .max_pin_bytes = static_cast<uint64_t>(max_pin_bytes)},
      observer);
  WorkerPool pool("pin", workers, absl::Seconds(poll),
                  [&] { return step.Step(); });
  pinner::PinnerServiceImpl service(repo, [&] { pool.NudgeAll(); });
  QueueDepthGauge depth(*base.metrics, queue, absl::Seconds(10));
  return ServeUntilShutdown(base, {&service}, pool);
}
