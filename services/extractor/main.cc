// niftysave-extractor: token URI → metadata → assets.
#include <unistd.h>

#include "absl/flags/flag.h"
#include "absl/strings/str_split.h"
#include "common/db/work_queue.h"
#include "common/fetch/content_fetcher.h"
#include "common/fetch/fetch_flags.h"
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
ABSL_FLAG(int, workers, 4, "concurrent extraction workers (1-256)");
ABSL_FLAG(int, batch_size, 16, "tokens leased per worker step (1-1000)");
ABSL_FLAG(int, max_attempts, 6,
          "attempts before a temporary failure becomes final (1-100)");
ABSL_FLAG(double, poll_seconds, 2.0,
          "queue poll interval when idle (0.05-3600)");
ABSL_FLAG(std::string, pinner_addr, "",
          "pinner gRPC host:port to notify (optional)");

using namespace niftysave;

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
  const int workers = GetFlagInRange(FLAGS_workers, 1, 256);
  const int batch = GetFlagInRange(FLAGS_batch_size, 1, 1000);
  const int attempts = GetFlagInRange(FLAGS_max_attempts, 1, 100);
  const double poll = GetFlagInRange(FLAGS_poll_seconds, 0.05, 3600.0);

  ConnectOrDie(base);
  http::HttpLimits limits{.max_body_bytes = static_cast<size_t>(max_bytes),
                          .total_timeout = absl::Seconds(timeout),
                          .max_redirects = redirects};
  http::HttpClient user_http({.limits = limits,
                              .address_policy = fetch_flags.address_policy,
                              .ca_file = fetch_flags.ca_file});
  http::HttpClient gateway_http(
      {.limits = limits, .ca_file = fetch_flags.ca_file});
  fetch::ContentFetcher fetcher(user_http, gateway_http,
                                {.ipfs_gateways = fetch_flags.ipfs_gateways,
                                 .arweave_gateway = fetch_flags.arweave_gateway,
                                 .max_bytes = static_cast<size_t>(max_bytes)});
  extractor::MetadataExtractor logic(fetcher, {});
  db::WorkQueue queue(
      *base.pool, "extract", base.name + "-" + std::to_string(getpid()),
      {.lease = absl::Seconds(timeout * 2 + 30), .max_attempts = attempts});
  extractor::PgExtractorRepository repo(*base.pool, queue);
  extractor::PinnerNotifier notifier(absl::GetFlag(FLAGS_pinner_addr));

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
  extractor::ExtractionWorker step(repo, logic, batch, observer);
  WorkerPool pool("extract", workers, absl::Seconds(poll),
                  [&] { return step.Step(); });
  extractor::ExtractorServiceImpl service(repo, [&] { pool.NudgeAll(); });
  QueueDepthGauge depth(*base.metrics, queue, absl::Seconds(10));
  return ServeUntilShutdown(base, {&service}, pool);
}
