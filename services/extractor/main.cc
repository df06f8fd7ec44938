// niftysave-extractor: token URI → metadata → assets.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/strings/str_split.h"
#include "common/db/work_queue.h"
#include "common/fetch/async_fetcher.h"
#include "common/fetch/fetch_flags.h"
#include "common/fetch/fetch_metrics.h"
#include "common/runtime/flags.h"
#include "common/runtime/log.h"
#include "common/runtime/worker.h"
#include "common/service/service_base.h"
#include "services/extractor/extraction_worker.h"
#include "services/extractor/extractor_grpc.h"
#include "services/extractor/pinner_notifier.h"

ABSL_FLAG(int64_t, max_metadata_bytes, 16 << 20,
          "largest token URI document fetched (1 KiB-256 MiB)");
ABSL_FLAG(double, fetch_timeout_seconds, 30,
          "total time for one fetch (1-600)");
ABSL_FLAG(int, max_redirects, 5, "redirects followed per fetch (0-20)");
ABSL_FLAG(int, max_buffered_mb, 384,
          "MiB the bodies being fetched and the results waiting for their "
          "write may hold at once: each leased item reserves "
          "--max_metadata_bytes until fetched, then its body's size until "
          "written (16-65536)");
ABSL_FLAG(int, max_in_flight, 256,
          "tokens being fetched or parsed at once; as many more may wait "
          "for their write (1-10000)");
ABSL_FLAG(int, max_per_host, 64,
          "fetches at once against one host:port (1-10000)");
ABSL_FLAG(double, per_host_rps, 0,
          "fetches started per second per host:port; 0 = unlimited (0-100000)");
ABSL_FLAG(double, first_byte_timeout_seconds, 15,
          "time allowed until a response's first byte (1-600)");
ABSL_FLAG(int, workers, 2,
          "threads that parse fetched metadata and walk its assets (1-64)");
ABSL_FLAG(int, batch_size, 64,
          "tokens leased per query, and outcomes written per transaction "
          "(1-1000)");
ABSL_FLAG(int, max_attempts, 6,
          "attempts before a temporary failure becomes final (1-100)");
ABSL_FLAG(double, poll_seconds, 2.0,
          "queue poll interval when idle (0.05-3600)");
ABSL_FLAG(std::string, pinner_addr, "",
          "pinner gRPC host:port to notify (optional)");

using namespace niftysave;

namespace {

// Every transfer in flight holds a socket: allow as many files as the hard
// limit does.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  ServiceBase base;
  InitService(argc, argv, "extractor",
              "niftysave-extractor --database_url=... --ipfs_gateways=URL",
              50062, 9462, base);
  const fetch::FetchFlags fetch_flags =
      fetch::FetchFlagsFromFlags(/*require_gateway=*/true);
  const int64_t max_bytes = absl::GetFlag(FLAGS_max_metadata_bytes);
  if (max_bytes < 1024 || max_bytes > (256 << 20))
    DieWithConfigError("max_metadata_bytes", "must be 1 KiB-256 MiB");
  const double timeout =
      GetFlagInRange(FLAGS_fetch_timeout_seconds, 1.0, 600.0);
  const int redirects = GetFlagInRange(FLAGS_max_redirects, 0, 20);
  const int in_flight = GetFlagInRange(FLAGS_max_in_flight, 1, 10000);
  const int per_host = GetFlagInRange(FLAGS_max_per_host, 1, 10000);
  const double per_host_rps = GetFlagInRange(FLAGS_per_host_rps, 0.0, 1e5);
  const double first_byte =
      GetFlagInRange(FLAGS_first_byte_timeout_seconds, 1.0, 600.0);
  const int workers = GetFlagInRange(FLAGS_workers, 1, 64);
  const int batch = GetFlagInRange(FLAGS_batch_size, 1, 1000);
  const int attempts = GetFlagInRange(FLAGS_max_attempts, 1, 100);
  const double poll = GetFlagInRange(FLAGS_poll_seconds, 0.05, 3600.0);

  ConnectOrDie(base);
  http::HttpLimits limits{.max_body_bytes = static_cast<size_t>(max_bytes),
                          .total_timeout = absl::Seconds(timeout),
                          .max_redirects = redirects};
  RaiseOpenFileLimit();
  const http::MultiClientOptions multi{
      .max_in_flight = in_flight,
      .max_per_host = per_host,
      .per_host_rps = per_host_rps,
      .first_byte_timeout = absl::Seconds(first_byte)};
  http::MultiClientOptions user = multi, gateway = multi;
  user.http = {.limits = limits,
               .address_policy = fetch_flags.address_policy,
               .ca_file = fetch_flags.ca_file};
  // The operator's gateways on the first hop; their redirects are judged
  // like user URLs (see HttpClientOptions::trust_first_hop).
  gateway.http = {.limits = limits,
                  .address_policy = fetch_flags.address_policy,
                  .trust_first_hop = true,
                  .ca_file = fetch_flags.ca_file};
  // The operator's own gateways are not rate limited per host.
  gateway.per_host_rps = 0;
  gateway.max_per_host = in_flight;
  http::MultiClient user_http(user);
  http::MultiClient gateway_http(gateway);
  fetch::FetchMetrics fetch_metrics(base.metrics->Counter(
      "cid_verifications_total",
      "IPFS gateway answers to a bare CID, by verification result"));
  fetch::AsyncFetcher fetcher(user_http, gateway_http,
                              {.ipfs_gateways = fetch_flags.ipfs_gateways,
                               .arweave_gateway = fetch_flags.arweave_gateway,
                               .max_bytes = static_cast<size_t>(max_bytes),
                               .ipfs_api_url = fetch_flags.ipfs_api_url,
                               .metrics = &fetch_metrics});
  db::WorkQueue queue(*base.pool, "extract",
                      base.name + "-" + std::to_string(getpid()),
                      {.lease = absl::Seconds(timeout * 2 + 30),
                       .max_attempts = attempts,
                       .max_lost_leases = attempts});
  extractor::PgExtractorRepository repo(*base.pool, queue);
  extractor::PinnerNotifier notifier(absl::GetFlag(FLAGS_pinner_addr),
                                     base.grpc_client);

  auto& outcomes = base.metrics->Counter(
      "tokens_total", "Tokens handled, by outcome and reason");
  auto& notified = base.metrics->Counter("notifications_total",
                                         "Pinner notifications, by outcome");
  auto& id_forms = base.metrics->Counter(
      "erc1155_id_form_total",
      "ERC-1155 {id} metadata found, by form (hex: the spec's; decimal: the "
      "fallback)");
  extractor::ExtractionObserver observer{
      .finished =
          [&](const std::string& outcome, const std::string& reason) {
            outcomes.Add({{"outcome", outcome}, {"reason", reason}})
                .Increment();
          },
      .resources_queued =
          [&](const std::vector<int64_t>& ids) {
            notified.Add({{"outcome", notifier.Notify(ids) ? "ok" : "failed"}})
                .Increment();
          },
      .erc1155_id_form =
          [&](const std::string& form) {
            id_forms.Add({{"form", form}}).Increment();
          }};
  extractor::ExtractionWorker engine(
      repo, fetcher, {},
      {.max_in_flight = in_flight,
       .lease_batch = batch,
       // Top up in sixteenths of the cap rather than whole batches.
       .lease_when_free = std::max(1, std::min(batch, in_flight / 16)),
       .parse_threads = workers,
       .write_batch = batch,
       // Leave a connection for leasing.
       .writers = std::max(1, std::min(4, base.db_pool_size - 1)),
       .max_buffered_bytes =
           int64_t{GetFlagInRange(FLAGS_max_buffered_mb, 16, 65536)} << 20,
       .max_item_bytes = max_bytes},
      observer);
  // One feeder leases as slots free up; the engine does the rest.
  WorkerPool feeder("extract", 1, absl::Seconds(poll),
                    [&] { return engine.Feed(); });
  extractor::ExtractorServiceImpl service(repo, [&] { feeder.NudgeAll(); });
  QueueDepthGauge depth(*base.metrics, queue, absl::Seconds(10));
  const int code = ServeUntilShutdown(base, {&service}, feeder);
  if (!engine.Drain(absl::Seconds(base.drain_seconds))) {
    log::Warn("items still in flight at exit; their leases will expire",
              {{"in_flight", std::to_string(engine.in_flight())}});
    std::_Exit(code);  // without waiting for them: the queue is durable
  }
  return code;
}
