#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eth/token_key.h"
#include "services/indexer/chain_source.h"
#include "services/indexer/indexer_repository.h"

namespace niftysave::indexer {

// tokenURI(id) / uri(id) of `queries` at `block`, sent as up to `concurrency`
// concurrent JSON-RPC batch requests. A node or network failure fails the
// whole call (the tokens are read again later); a contract's own failure
// (revert, empty return, not UTF-8, too long) is that token's recorded
// reason, not retried.
absl::StatusOr<std::vector<UriResult>> ReadTokenUris(
    ChainSource& source, const std::vector<TokenUriQuery>& queries,
    uint64_t block, int concurrency);

struct UriReaderConfig {
  uint64_t chain_id = 0;  // the chain whose URI-read queue is read
  int batch = 2000;       // tokens leased per step
  int concurrency = 8;    // concurrent batch requests per step
  // A step's URIs are held in memory at once, and a contract decides how
  // long they are (up to the source's cap, 1 MiB): a step leases at most
  // about this many bytes' worth, judged by the last step's average.
  size_t max_batch_bytes = size_t{64} << 20;
  // The longest URI the source returns: before any is measured, a step
  // leases as if every URI were this long.
  size_t max_uri_bytes = size_t{1} << 20;
};

struct UriReaderCounters {
  // Tokens read, by outcome: "uri" (a URI), "failed" (the contract's own
  // failure, recorded), "node_error" (retried later), "stale" (the lease was
  // lost, e.g. to a reorg: nothing written).
  std::function<void(const std::string& outcome, uint64_t n)> reads =
      [](const std::string&, uint64_t) {};
};

// The second half of indexing a token: the chain indexer records a token at
// log speed and queues it on the chain's URI-read queue ('read_uri:<chain>');
// the reader leases those in batches, reads their URIs at the chain's indexed
// block, writes them (a value read at an older block than the stored one is
// dropped), and queues the tokens whose URI changed for extraction
// (`on_tokens` gets their keys). Several readers (threads or replicas) may
// share a queue: leases are exclusive and fenced, and a reorg fences off the
// reads in flight (they may have read an orphaned block).
class UriReader {
 public:
  UriReader(UriReaderConfig config, UriReadRepository& repo,
            ChainSource& source,
            std::function<void(const std::vector<eth::TokenKey>&)> on_tokens,
            UriReaderCounters counters = {});

  // Reads one leased batch; returns the tokens handled (0: none due). A node
  // failure reschedules the batch with back-off and is returned.
  absl::StatusOr<size_t> Step();
  // Steps until nothing is due; returns the tokens handled.
  absl::StatusOr<size_t> Drain();
  // URI reads waiting (due or not) and given up on.
  absl::StatusOr<QueueDepth> Pending() { return repo_.Pending(); }

 private:
  // Tokens to lease next: config_.batch, fewer when URIs run large (the
  // first step, before any is measured, as if all were max_uri_bytes).
  int BatchLimit() const;

  const UriReaderConfig config_;
  // Bytes per URI read in the last step (0: none read yet).
  std::atomic<size_t> avg_uri_bytes_{0};
  UriReadRepository& repo_;
  ChainSource& source_;
  const std::function<void(const std::vector<eth::TokenKey>&)> on_tokens_;
  const UriReaderCounters counters_;
};

}  // namespace niftysave::indexer
