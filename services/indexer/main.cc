// niftysave-indexer: follows one EVM chain and records its NFTs.
#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "common/eth/json_rpc_client.h"
#include "common/runtime/flags.h"
#include "common/runtime/log.h"
#include "common/runtime/reason.h"
#include "common/runtime/worker.h"
#include "common/service/service_base.h"
#include "services/indexer/chain_indexer.h"
#include "services/indexer/extractor_notifier.h"
#include "services/indexer/indexer_grpc.h"
#include "services/indexer/indexer_metrics.h"
#include "services/indexer/subgraph_repository.h"
#include "services/indexer/subgraph_source.h"

ABSL_FLAG(uint64_t, chain_id, 0, "EIP-155 chain id (required)");
ABSL_FLAG(std::string, chain_name, "",
          "chain name for humans (default: chain-<id>)");
ABSL_FLAG(std::string, source, "rpc",
          "where tokens come from: rpc (follow the chain) or subgraph");
ABSL_FLAG(std::string, rpc_url, "",
          "Ethereum JSON-RPC URL(s), comma-separated for failover "
          "(required with --source=rpc)");
ABSL_FLAG(double, rpc_timeout_seconds, 60,
          "time allowed for one JSON-RPC or subgraph request (1-600)");
ABSL_FLAG(
    std::string, subgraph_url, "",
    "GraphQL URL of an eip721-subgraph (required with --source=subgraph)");
ABSL_FLAG(uint64_t, subgraph_page_size, 1000,
          "tokens asked for per subgraph page (1-1000)");
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

namespace {

// --source=subgraph: pages of tokens instead of the chain; no Indexer gRPC
// service (health and reflection only), the same metrics and notifications.
int RunSubgraph(ServiceBase& base, const indexer::ChainConfig& chain,
                const http::HttpClient& http, indexer::IndexerMetrics& metrics,
                indexer::ExtractorNotifier& notifier, double poll,
                indexer::SubgraphSource::Options options) {
  indexer::PgSubgraphRepository repo(*base.pool);
  indexer::IndexerCounters counters = metrics.Counters();
  indexer::SubgraphSource source(
      http, repo, std::move(options),
      [&](const auto& keys) { metrics.Notified(notifier.Notify(keys)); },
      {.request =
           [&](const std::string& outcome, absl::Duration d) {
             metrics.RpcRequest("subgraph_tokens", outcome, d);
           },
       .tokens = [&](uint64_t n) { counters.tokens_minted("erc721", n); },
       .bad_row = [&](const std::string& r) { counters.error_recorded(r); }});
  if (absl::Status s = source.Open(); !s.ok()) {
    log::Error("cannot open subgraph cursor",
               {{"error", std::string(s.message())}});
    return 1;
  }
  log::Info("ingesting from a subgraph",
            {{"chain_id", std::to_string(chain.chain_id)},
             {"cursor", source.cursor()}});
  Worker worker("indexer", absl::Seconds(poll), [&]() -> int {
    absl::StatusOr<uint64_t> rows = source.Step();
    if (!rows.ok()) {
      metrics.StepFailed();
      log::Warn("subgraph page failed",
                {{"reason", ReasonOf(rows.status())},
                 {"error", std::string(rows.status().message())}});
      return 0;
    }
    return static_cast<int>(*rows);
  });
  auto server = StartGrpcOrDie(base, {});
  worker.Start();
  WaitForShutdown(base);
  worker.Stop();
  server->Shutdown(absl::Seconds(base.drain_seconds));
  log::Info("stopped");
  return 0;
}

}  // namespace

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
  const std::string source_kind = absl::GetFlag(FLAGS_source);
  if (source_kind != "rpc" && source_kind != "subgraph") {
    DieWithConfigError("source", "must be rpc or subgraph");
  }
  absl::StatusOr<std::vector<std::string>> rpc_urls =
      eth::ParseRpcUrls(absl::GetFlag(FLAGS_rpc_url));
  if (source_kind == "rpc" && !rpc_urls.ok()) {
    DieWithConfigError("rpc_url", "required, http(s) URLs separated by commas");
  }
  const std::string subgraph_url = absl::GetFlag(FLAGS_subgraph_url);
  if (source_kind == "subgraph" && !absl::StartsWith(subgraph_url, "http://") &&
      !absl::StartsWith(subgraph_url, "https://")) {
    DieWithConfigError("subgraph_url", "required, an http(s) URL");
  }
  const uint64_t page_size =
      GetFlagInRange(FLAGS_subgraph_page_size, uint64_t{1}, uint64_t{1000});
  const double timeout = GetFlagInRange(FLAGS_rpc_timeout_seconds, 1.0, 600.0);
  const double poll = GetFlagInRange(FLAGS_poll_seconds, 0.05, 3600.0);

  ConnectOrDie(base);
  http::HttpClient http({.limits = {.max_body_bytes = 256 << 20,
                                    .total_timeout = absl::Seconds(timeout)}});
  indexer::IndexerMetrics metrics(*base.metrics);
  indexer::ExtractorNotifier notifier(absl::GetFlag(FLAGS_extractor_addr));
  if (source_kind == "subgraph") {
    return RunSubgraph(
        base, chain, http, metrics, notifier, poll,
        {.chain_id = chain.chain_id,
         .chain_name = chain.name,
         .url = subgraph_url,
         .page_size = page_size,
         .http_limits = {.max_body_bytes = 256 << 20,
                         .total_timeout = absl::Seconds(timeout)}});
  }
  eth::JsonRpcClient rpc(
      http, eth::JsonRpcOptions{
                .urls = *rpc_urls,
                .observe = [&](const std::string& method,
                               const std::string& outcome, absl::Duration d) {
                  metrics.RpcRequest(method, outcome, d);
                }});
  indexer::RpcChainSource source(rpc, {});
  indexer::PgIndexerRepository repo(*base.pool);
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
