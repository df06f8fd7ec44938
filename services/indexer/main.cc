// niftysave-indexer: follows one EVM chain and records its NFTs.
#include "absl/flags/flag.h"
#include "common/eth/json_rpc_client.h"
#include "common/runtime/flags.h"
#include "common/runtime/log.h"
#include "common/runtime/worker.h"
#include "common/service/service_base.h"
#include "services/indexer/chain_indexer.h"
#include "services/indexer/extractor_notifier.h"
#include "services/indexer/indexer_grpc.h"
#include "services/indexer/indexer_metrics.h"

ABSL_FLAG(uint64_t, chain_id, 0, "EIP-155 chain id (required)");
ABSL_FLAG(std::string, chain_name, "",
          "chain name for humans (default: chain-<id>)");
ABSL_FLAG(std::string, rpc_url, "",
          "Ethereum JSON-RPC URL(s), comma-separated for failover (required)");
ABSL_FLAG(uint64_t, start_block, 0, "first block to index on a new chain");
ABSL_FLAG(uint64_t, confirmations, 12, "blocks to stay behind the head");
ABSL_FLAG(uint64_t, max_block_range, 2000,
          "largest eth_getLogs range (1-100000)");
ABSL_FLAG(uint64_t, reorg_window, 128,
          "recent blocks whose hashes are kept to detect reorgs (8-100000)");
ABSL_FLAG(double, poll_seconds, 2.0,
          "how often to look for new blocks when caught up");
ABSL_FLAG(std::string, extractor_addr, "",
          "extractor gRPC host:port to notify (optional)");

using namespace niftysave;

int main(int argc, char** argv) {
  ServiceBase base;
  InitService(argc, argv, "indexer",
              "niftysave-indexer --database_url=... --chain_id=N --rpc_url=URL",
              50061, 9461, base);
  indexer::ChainConfig chain{
      .chain_id = absl::GetFlag(FLAGS_chain_id),
      .name = absl::GetFlag(FLAGS_chain_name),
      .start_block = absl::GetFlag(FLAGS_start_block),
      .confirmations = absl::GetFlag(FLAGS_confirmations),
      .max_block_range = absl::GetFlag(FLAGS_max_block_range),
      .reorg_window = absl::GetFlag(FLAGS_reorg_window)};
  if (chain.chain_id == 0) DieWithConfigError("chain_id", "required");
  if (chain.name.empty())
    chain.name = "chain-" + std::to_string(chain.chain_id);
  if (chain.max_block_range < 1 || chain.max_block_range > 100000) {
    DieWithConfigError("max_block_range", "must be 1-100000");
  }
  if (chain.reorg_window < 8 || chain.reorg_window > 100000) {
    DieWithConfigError("reorg_window", "must be 8-100000");
  }
  absl::StatusOr<std::vector<std::string>> rpc_urls =
      eth::ParseRpcUrls(absl::GetFlag(FLAGS_rpc_url));
  if (!rpc_urls.ok()) {
    DieWithConfigError("rpc_url", "required, http(s) URLs separated by commas");
  }
  const double poll = GetFlagInRange(FLAGS_poll_seconds, 0.05, 3600.0);

  ConnectOrDie(base);
  http::HttpClient http({.limits = {.max_body_bytes = 256 << 20,
                                    .total_timeout = absl::Seconds(60)}});
  indexer::IndexerMetrics metrics(*base.metrics);
  eth::JsonRpcClient rpc(
      http, eth::JsonRpcOptions{
                .urls = *rpc_urls,
                .observe = [&](const std::string& method,
                               const std::string& outcome, absl::Duration d) {
                  metrics.RpcRequest(method, outcome, d);
                }});
  indexer::RpcChainSource source(rpc, {});
  indexer::PgIndexerRepository repo(*base.pool);
  indexer::ExtractorNotifier notifier(absl::GetFlag(FLAGS_extractor_addr));
  indexer::ChainIndexer chain_indexer(
      chain, source, repo,
      [&](const auto& keys) { metrics.Notified(notifier.Notify(keys)); },
      metrics.Counters());
  if (absl::Status s = chain_indexer.Open(); !s.ok()) {
    log::Error("cannot open chain cursor",
               {{"error", std::string(s.message())}});
    return 1;
  }
  Worker worker("indexer", absl::Seconds(poll), [&]() -> int {
    absl::StatusOr<uint64_t> blocks = chain_indexer.Step();
    if (!blocks.ok()) {
      metrics.StepFailed();
      log::Warn("indexing step failed",
                {{"error", std::string(blocks.status().message())}});
      return 0;
    }
    return static_cast<int>(*blocks);
  });
  indexer::IndexerServiceImpl service(chain_indexer, repo);
  auto server = StartGrpcOrDie(base, {&service});
  worker.Start();
  WaitForShutdown(base);
  worker.Stop();
  server->Shutdown(absl::Seconds(base.drain_seconds));
  log::Info("stopped");
  return 0;
}
