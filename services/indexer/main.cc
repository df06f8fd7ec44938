// niftysave-indexer: records the NFTs of one EVM chain (or subgraph). Wiring.
#include <memory>
#include <string>
#include <vector>

#include "common/eth/json_rpc_client.h"
#include "common/runtime/log.h"
#include "common/runtime/reason.h"
#include "common/runtime/worker.h"
#include "common/service/service_base.h"
#include "services/indexer/indexer_config.h"
#include "services/indexer/indexer_grpc.h"
#include "services/indexer/indexer_metrics.h"
#include "services/indexer/pg_backfill_leases.h"
#include "services/indexer/pg_indexer_repository.h"
#include "services/indexer/pg_subgraph_repository.h"

using namespace niftysave;
using namespace niftysave::indexer;

// Until SIGTERM: `step` on a worker (failures logged as `failed`), `readers`
// workers of `read`, the gRPC `services`.
static int Serve(
    ServiceBase& base, const IndexerConfig& config, IndexerMetrics& metrics,
    absl::Status opened, const char* failed,
    std::function<absl::StatusOr<uint64_t>()> step, int readers = 0,
    std::function<int()> read = {}, std::vector<grpc::Service*> services = {},
    std::function<void()> before_drain = [] {}) {
  if (!opened.ok()) {
    log::Error("cannot open", {{"error", std::string(opened.message())}});
    return 1;
  }
  std::vector<std::unique_ptr<Worker>> workers;
  workers.push_back(std::make_unique<Worker>("indexer", config.poll, [&] {
    absl::StatusOr<uint64_t> n = step();
    if (n.ok()) return static_cast<int>(*n);
    metrics.StepFailed();
    log::Warn(failed, {{"reason", ReasonOf(n.status())},
                       {"error", std::string(n.status().message())}});
    return 0;
  }));
  for (int i = 0; i < readers; ++i) {
    workers.push_back(
        std::make_unique<Worker>("uri_reader", config.poll, read));
  }
  auto server = StartGrpcOrDie(base, services);
  for (auto& w : workers) w->Start();
  WaitForShutdown(base);
  for (auto& w : workers) w->Stop();
  before_drain();
  server->Shutdown(absl::Seconds(base.drain_seconds));
  log::Info("stopped");
  return 0;
}

int main(int argc, char** argv) {
  ServiceBase base;
  InitService(argc, argv, "indexer",
              "niftysave-indexer --database_url=... --chain_id=N --rpc_url=URL",
              50061, 9461, base);
  const IndexerConfig config = ReadIndexerConfig(base.worker_id);
  ConnectOrDie(base);
  http::HttpClient http({.limits = config.http_limits});
  IndexerMetrics metrics(*base.metrics);
  const ExtractorNotifier notifier =
      MakeExtractorNotifier(config.extractor_addr, base.grpc_client);
  auto notify = metrics.Notifying(notifier);
  if (config.subgraph) {  // pages of tokens; health and reflection only
    PgSubgraphRepository repo(*base.pool);
    SubgraphSource source(http, repo, config.subgraph_options, notify,
                          metrics.SubgraphCounters());
    return Serve(base, config, metrics, source.Open(), "subgraph page failed",
                 [&] { return source.Step(); });
  }
  // A back-off between attempts (up to 10 s; a Retry-After up to 30 s) ends
  // at a stop signal: the call's last attempts go out at once and it
  // returns, instead of holding the drain past the pod's grace period.
  eth::JsonRpcClient rpc(
      http, {.urls = config.rpc_urls,
             .sleep =
                 [&base](absl::Duration d) {
                   base.shutdown->WaitForNotificationWithTimeout(d);
                 },
             .observe = metrics.RpcObserver()});
  RpcChainSource source(rpc, {});
  PgIndexerRepository repo(*base.pool);
  PgBackfillLeases backfill(*base.pool);
  TakeBackLeases("backfill", [&] {
    return backfill.ReleaseHeld(config.chain.chain_id, base.worker_id);
  });
  PgFollowerLease follower(*base.pool);
  ChainIndexer indexer(
      config.chain, source, repo, notify, metrics.Counters(),
      {.backfill = &backfill,
       .follower = config.follower_election ? &follower : nullptr});
  // URI reads beside the follower, which queues them at log speed.
  PgUriReadRepository uri_repo(*base.pool, config.chain.chain_id,
                               config.uri_worker_id, config.uri_policy);
  TakeBackLeases(uri_repo.queue());
  UriReader reader(config.uri, uri_repo, source, notify, metrics.UriCounters());
  UriReadPacer pacer(
      config.pacing,
      {.read = [&] { return reader.Step(); },
       .catching_up = [&] { return indexer.CatchingUp(); },
       .refresh_depth = [&] { metrics.UriReadsPending(reader.Pending()); }});
  IndexerServiceImpl service(indexer, repo);
  return Serve(
      base, config, metrics, indexer.Open(), "indexing step failed",
      [&] { return indexer.Step(); }, config.uri_readers,
      [&] { return pacer.Step(); }, {&service}, [&] { indexer.Resign(); });
}
