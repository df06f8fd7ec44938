#include "services/indexer/indexer_config.h"

#include <algorithm>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/eth/json_rpc_client.h"
#include "common/runtime/flags.h"

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
ABSL_FLAG(double, subgraph_rescan_seconds, 3600,
          "seconds between the starts of two subgraph re-scan sweeps, which "
          "re-queue stored tokens whose URI changed (0: off)");
ABSL_FLAG(uint64_t, start_block, 0, "first block to index on a new chain");
ABSL_FLAG(uint64_t, confirmations, 12, "blocks to stay behind the head");
ABSL_FLAG(uint64_t, max_block_range, 2000,
          "largest eth_getLogs range (1-100000)");
ABSL_FLAG(uint64_t, reorg_window, 128,
          "recent blocks whose hashes are kept to detect reorgs (8-100000)");
ABSL_FLAG(uint64_t, target_logs_per_range, 10000,
          "eth_getLogs ranges are sized to hold about this many logs "
          "(100-1000000)");
ABSL_FLAG(bool, uri_reader, true,
          "read the URIs of the tokens this chain's indexer queues, in this "
          "process (false: other replicas read them)");
ABSL_FLAG(int, uri_readers, 2,
          "URI reader threads: each leases, reads and writes its own batch "
          "(1-16)");
ABSL_FLAG(double, catch_up_uri_rate, 2000,
          "while the follower is catching up, URI reads are held to about "
          "this many tokens a second, so they do not slow it down (0: no "
          "limit); once it is at the head they run at full speed");
ABSL_FLAG(int, uri_batch, 5000,
          "token URIs the URI reader leases and reads per step (1-10000)");
ABSL_FLAG(int, uri_batch_max_mb, 64,
          "a URI read step leases fewer tokens when their URIs run large, to "
          "hold about this many MiB at once (1-4096)");
ABSL_FLAG(int, uri_read_concurrency, 8,
          "concurrent JSON-RPC batch requests per URI read step (1-64)");
ABSL_FLAG(uint64_t, max_transfers_per_range, 50000,
          "transfers (ERC-2309 ranges expanded) a block range holds in "
          "memory: a range over it ends early, a block over it alone is "
          "written in parts (1000-10000000; about 3 KB each, twice over "
          "while one range is written and the next read)");
ABSL_FLAG(uint64_t, backfill_chunk_blocks, 10000,
          "Backfill requests are split into chunks of this many blocks, which "
          "any replica of the chain may lease (1-10000000)");
ABSL_FLAG(double, follower_lease_seconds, 30,
          "replicas of one chain elect one follower with a lease renewed "
          "every step; a crashed follower is replaced after this long "
          "(5-3600; 0: no election, one replica per chain)");
ABSL_FLAG(double, poll_seconds, 2.0,
          "how often to look for new blocks when caught up");
ABSL_FLAG(std::string, extractor_addr, "",
          "extractor gRPC host:port to notify (optional)");

namespace niftysave::indexer {
namespace {

// The chain followed and how: --chain_id, the block ranges, the replicas.
ChainConfig ReadChainConfig(double timeout) {
  ChainConfig chain{
      .chain_id = absl::GetFlag(FLAGS_chain_id),
      .name = absl::GetFlag(FLAGS_chain_name),
      .start_block = absl::GetFlag(FLAGS_start_block),
      .confirmations = absl::GetFlag(FLAGS_confirmations),
      .max_block_range = absl::GetFlag(FLAGS_max_block_range),
      .reorg_window = absl::GetFlag(FLAGS_reorg_window),
      .max_transfers_per_range = GetFlagInRange(
          FLAGS_max_transfers_per_range, uint64_t{1000}, uint64_t{10000000}),
      .target_logs_per_range = GetFlagInRange(FLAGS_target_logs_per_range,
                                              uint64_t{100}, uint64_t{1000000}),
      .uri_read_concurrency =
          GetFlagInRange(FLAGS_uri_read_concurrency, 1, 64)};
  if (chain.chain_id == 0) DieWithConfigError("chain_id", "required");
  if (chain.name.empty()) {
    chain.name = "chain-" + std::to_string(chain.chain_id);
  }
  if (chain.max_block_range < 1 || chain.max_block_range > 100000) {
    DieWithConfigError("max_block_range", "must be 1-100000");
  }
  if (chain.reorg_window < 8 || chain.reorg_window > 100000) {
    DieWithConfigError("reorg_window", "must be 8-100000");
  }
  chain.backfill_chunk_blocks = GetFlagInRange(FLAGS_backfill_chunk_blocks,
                                               uint64_t{1}, uint64_t{10000000});
  const double follower_lease = absl::GetFlag(FLAGS_follower_lease_seconds);
  if (follower_lease != 0 && (follower_lease < 5 || follower_lease > 3600)) {
    DieWithConfigError("follower_lease_seconds", "must be 0 or 5-3600");
  }
  chain.follower_lease = absl::Seconds(follower_lease);
  // A chunk's lease outlives a slow range: several RPC timeouts.
  chain.backfill_lease = absl::Seconds(std::max(300.0, timeout * 5));
  return chain;
}

// Where tokens come from: --source, --rpc_url, --subgraph_*.
void ReadSource(IndexerConfig& config) {
  const std::string source_kind = absl::GetFlag(FLAGS_source);
  if (source_kind != "rpc" && source_kind != "subgraph") {
    DieWithConfigError("source", "must be rpc or subgraph");
  }
  config.subgraph = source_kind == "subgraph";
  absl::StatusOr<std::vector<std::string>> rpc_urls =
      eth::ParseRpcUrls(absl::GetFlag(FLAGS_rpc_url));
  if (!config.subgraph && !rpc_urls.ok()) {
    DieWithConfigError("rpc_url", "required, http(s) URLs separated by commas");
  }
  if (rpc_urls.ok()) config.rpc_urls = *rpc_urls;
  const std::string subgraph_url = absl::GetFlag(FLAGS_subgraph_url);
  if (config.subgraph && !absl::StartsWith(subgraph_url, "http://") &&
      !absl::StartsWith(subgraph_url, "https://")) {
    DieWithConfigError("subgraph_url", "required, an http(s) URL");
  }
  config.subgraph_options = {
      .chain_id = config.chain.chain_id,
      .chain_name = config.chain.name,
      .url = subgraph_url,
      .page_size =
          GetFlagInRange(FLAGS_subgraph_page_size, uint64_t{1}, uint64_t{1000}),
      .http_limits = config.http_limits,
      .rescan_interval = absl::Seconds(
          GetFlagInRange(FLAGS_subgraph_rescan_seconds, 0.0, 30.0 * 86400))};
}

}  // namespace

IndexerConfig ReadIndexerConfig(const std::string& worker_id) {
  IndexerConfig config;
  const double timeout = GetFlagInRange(FLAGS_rpc_timeout_seconds, 1.0, 600.0);
  config.chain = ReadChainConfig(timeout);
  // Replicas of this chain meet in Postgres: one follows the head, all of
  // them work the backfill chunks. Under the stable --worker_id a restarted
  // replica holds the follower role again at once (it is already its own)
  // and takes back its chunks and URI reads.
  config.chain.worker_id = worker_id;
  config.http_limits = {.max_body_bytes = 256 << 20,
                        .total_timeout = absl::Seconds(timeout)};
  ReadSource(config);
  config.poll = absl::Seconds(GetFlagInRange(FLAGS_poll_seconds, 0.05, 3600.0));
  config.follower_election = config.chain.follower_lease > absl::ZeroDuration();
  config.uri_readers = GetFlagInRange(FLAGS_uri_readers, 1, 16);
  if (!absl::GetFlag(FLAGS_uri_reader)) config.uri_readers = 0;
  config.uri_worker_id = worker_id;
  config.uri = {
      .chain_id = config.chain.chain_id,
      .batch = GetFlagInRange(FLAGS_uri_batch, 1, 10000),
      .concurrency = config.chain.uri_read_concurrency,
      .max_batch_bytes =
          static_cast<size_t>(GetFlagInRange(FLAGS_uri_batch_max_mb, 1, 4096))
          << 20};
  config.uri_policy = {.lease = absl::Seconds(timeout * 2 + 30)};
  config.pacing = {.catch_up_rate =
                       GetFlagInRange(FLAGS_catch_up_uri_rate, 0.0, 1e7)};
  config.extractor_addr = absl::GetFlag(FLAGS_extractor_addr);
  return config;
}

}  // namespace niftysave::indexer
