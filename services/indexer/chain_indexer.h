#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/eth/token_key.h"
#include "services/indexer/backfill_leases.h"
#include "services/indexer/chain_source.h"
#include "services/indexer/indexer_repository.h"
#include "services/indexer/range_decoder.h"

namespace niftysave::indexer {

struct ChainConfig {
  uint64_t chain_id = 0;
  std::string name;
  uint64_t start_block = 0;
  uint64_t confirmations = 0;  // blocks kept behind the head
  uint64_t max_block_range = 2000;
  // Block hashes kept behind the indexed block; a reorg deeper than this is
  // refused (the indexer stops advancing and says so) rather than guessed.
  uint64_t reorg_window = 128;
  // Tokens one ERC-2309 ConsecutiveTransfer or ERC-4906 BatchMetadataUpdate
  // may touch; the rest is recorded in indexer_errors.
  uint64_t max_tokens_per_event = 10000;
  // Transfers (ERC-2309 ranges expanded) one range holds in memory: a range
  // over it is cut short at the last block that fits, and a block over it
  // alone is written in parts of this many. Memory follows bytes, not logs:
  // 2,000 ranges of 10,000 in one transaction are 20M transfers.
  uint64_t max_transfers_per_range = 50000;
  // eth_getLogs ranges are sized from the log density of the last range to
  // hold about this many logs (within 1..max_block_range): sparse history
  // is read in long ranges, dense blocks in short ones, without a reply
  // that is too large and must be asked again.
  uint64_t target_logs_per_range = 10000;
  // RefreshTokens' URI reads go out as up to this many concurrent batch
  // requests (the URI reader has its own setting).
  int uri_read_concurrency = 8;
  // Replicas (see Coordination): this one's name in the leases, the size of
  // the chunks a Backfill request is split into, how long a chunk's lease
  // lasts without progress, and how long the follower role lasts unrenewed
  // (it is renewed every Step).
  std::string worker_id = "indexer";
  uint64_t backfill_chunk_blocks = 10000;
  absl::Duration backfill_lease = absl::Minutes(5);
  absl::Duration follower_lease = absl::Seconds(30);
};

// Where replicas of one chain's indexer meet (backfill_leases.h). With
// `follower`, only the replica holding the chain's follower lease follows the
// head; the others work backfill chunks only. With `backfill`, Backfill
// requests are kept in Postgres in chunks any replica may lease; without it,
// Backfill is refused.
struct Coordination {
  BackfillLeases* backfill = nullptr;
  FollowerLease* follower = nullptr;
};

struct IndexerCounters {
  std::function<void(uint64_t)> logs_seen = [](uint64_t) {};
  std::function<void(const std::string& standard, uint64_t)> tokens_minted =
      [](const std::string&, uint64_t) {};
  std::function<void(const std::string&)> bad_log = [](const std::string&) {};
  std::function<void(uint64_t head, uint64_t indexed)> progress =
      [](uint64_t, uint64_t) {};
  // Depth bucket: "1", "2-5", "6-20", "21+" or "beyond_window".
  std::function<void(const std::string& depth)> reorg = [](const std::string&) {
  };
  std::function<void(const std::string& reason)> error_recorded =
      [](const std::string&) {};
};

struct IndexerSnapshot {
  uint64_t head_block = 0;
  uint64_t indexed_block = 0;  // last fully indexed block (0 before the first)
  bool has_indexed = false;
  uint64_t backfill_pending_blocks = 0;  // as of the last backfill step
  std::string halted;    // why the follower stopped advancing, if it did
  bool follower = true;  // this replica holds the follower role
};

// The depth bucket a reorg of `depth` blocks is counted under.
std::string ReorgDepthBucket(uint64_t depth);

// Follows one chain: each Step() indexes the next confirmed block range —
// checks it continues the stored chain (rolling back orphaned blocks when
// not), decodes ERC-721/ERC-1155/ERC-2309/ERC-4906 logs, commits the range's
// transfers, new tokens, owners and balances with the cursor, and queues the
// new and refreshed tokens' URI reads for the UriReader (uri_reader.h), which
// runs beside it: the chain is followed at log speed, however slow the
// contracts' tokenURI calls are. Tokens a URI event changed go to
// `on_tokens`. Step() runs on one thread; Backfill, RefreshTokens and
// Snapshot may be called from others.
//
// Ranges are written on a writer thread: while range N is committed, Step()
// reads, decodes and reads the URIs of range N+1, and submits it once N is
// committed. So when Step() returns, the range it indexed is being written
// and the one before is committed; a Step() that finds nothing to do (returns
// 0) or fails has waited for every write. A failed write sends the follower
// back to that range's first block. The callbacks (`on_tokens`, counters)
// run on the Step() thread.
class ChainIndexer {
 public:
  ChainIndexer(ChainConfig config, ChainSource& source, IndexerRepository& repo,
               std::function<void(const std::vector<eth::TokenKey>&)> on_tokens,
               IndexerCounters counters = {}, Coordination coordination = {});
  // Waits for the write in flight.
  ~ChainIndexer();

  absl::Status Open();
  // Indexes one range (or, when caught up, one chunk of a pending backfill);
  // returns the number of blocks indexed (0: nothing to do). On an RPC error
  // the range shrinks (halves) before the next try, and grows back after.
  absl::StatusOr<uint64_t> Step();
  IndexerSnapshot Snapshot() const;
  // On shutdown: hands the follower role over at once rather than after its
  // lease runs out (nothing without a follower election).
  void Resign();
  const ChainConfig& config() const { return config_; }
  // Whether the last Step() left confirmed blocks to index (the follower is
  // catching up, not waiting for new blocks).
  bool CatchingUp() const { return catching_up_.load(); }

  // Queues [from, to] to be indexed again (records only; the cursor and the
  // stored hashes are the follower's), in chunks any replica may lease. Only
  // blocks behind the follower (as this replica last saw it) are taken:
  // returns the range accepted.
  absl::StatusOr<std::pair<uint64_t, uint64_t>> Backfill(uint64_t from,
                                                         uint64_t to);
  // Reads the tokens' URIs again at the indexed block and sends them back
  // through extraction. NotFound when none of them is known.
  absl::StatusOr<std::vector<eth::TokenKey>> RefreshTokens(
      const std::vector<eth::TokenKey>& keys);

 private:
  struct RangeOutcome {
    bool reorg = false;  // the range does not continue the stored chain
    uint64_t to = 0;     // the last block indexed (cut short at the cap)
    // The range's weight for NextRange: its logs, or more when its
    // transfers came near the cap.
    uint64_t weight = 0;
    bool lease_lost = false;  // a backfill chunk's lease moved on
  };
  // Reads, decodes (DecodeRange), checks and writes [from, to]: following,
  // on the writer thread after the range in flight; a backfill chunk's
  // range (follow false) at once, records only.
  absl::StatusOr<RangeOutcome> IndexRange(uint64_t from, uint64_t to,
                                          uint64_t head, bool follow);
  // Whether the range continues the stored chain (the parent of `from` is
  // the stored block before it); fills batch.blocks. A log whose block
  // hash is not its header's fails (reason chain_moved).
  absl::StatusOr<bool> ContinuesStoredChain(uint64_t from, uint64_t to,
                                            const DecodedRange& decoded,
                                            RangeBatch& batch);
  // batch.contracts: the contracts of `decoded` not on record (nor in the
  // write in flight), probed.
  absl::Status FindNewContracts(const DecodedRange& decoded, RangeBatch& batch);
  // Moves the decoded transfers, URI updates, refreshes and errors into
  // `batch`; a block over the transfer cap is written in parts (WritePart).
  absl::Status AddTransfers(uint64_t from, DecodedRange& decoded,
                            RangeBatch& batch, bool follow);
  // Reads the logs of the range expected next while this one is written.
  void PrefetchNext(uint64_t from, uint64_t to, uint64_t head, uint64_t weight);
  // Where a range's time went before its write, for its log line.
  struct RangeTimes {
    std::string logs_ms, decode_ms;
  };
  absl::StatusOr<RangeOutcome> WriteBackfillRange(uint64_t from,
                                                  const DecodedRange& decoded,
                                                  const RangeTimes& times,
                                                  const RangeBatch& batch);
  // Hands the range to the writer thread and moves the cursor past it.
  void SubmitWrite(uint64_t from, const DecodedRange& decoded,
                   const RangeTimes& times, RangeBatch batch);
  // Writes batch.transfers (with batch.contracts, which they may need) as
  // records only, after the write in flight, and empties them: one part of
  // a block over the transfer cap.
  absl::Status WritePart(RangeBatch& batch, bool follow);
  // Walks back from `from - 1` to the newest stored block still canonical,
  // and rolls back everything after it.
  absl::Status HandleReorg(uint64_t from);
  absl::StatusOr<uint64_t> BackfillStep(uint64_t head);
  // The follower queues one chunk of the oldest refresh its range write
  // left pending (a BatchMetadataUpdate over more than
  // max_tokens_per_event tokens); returns the tokens queued.
  absl::StatusOr<uint64_t> AdvanceRefresh();
  // Takes or renews the follower role; on a change, drops what this replica
  // held of the follower's state.
  absl::StatusOr<bool> HoldFollowerRole();
  // Counts, records and notifies what a committed range wrote.
  void Report(const RangeWritten& written);
  // Until this process has indexed a range: logs, once per block awaited,
  // which head block the next range needs and why (a local chain is often
  // shorter than --confirmations, and would otherwise index nothing,
  // silently).
  void LogWaiting(uint64_t head);
  // The next range after `blocks` blocks held `logs` logs.
  uint64_t NextRange(uint64_t blocks, uint64_t logs) const;
  // The logs of [from, to]: the prefetched reply when it is for exactly
  // that range, else read now (a stale prefetch is dropped).
  absl::StatusOr<std::vector<eth::RawLog>> TakeLogs(uint64_t from, uint64_t to);
  // Waits for the range being written, then counts, notifies and logs it. On
  // failure the follower goes back to its first block (what was prepared
  // after it assumed it written).
  absl::Status FinishWrite();

  const ChainConfig config_;
  ChainSource& source_;
  IndexerRepository& repo_;
  const std::function<void(const std::vector<eth::TokenKey>&)> on_tokens_;
  const IndexerCounters counters_;
  std::atomic<uint64_t> next_block_{0};  // only the Step() thread writes it
  uint64_t range_;
  std::atomic<uint64_t> head_{0};
  std::atomic<bool> catching_up_{false};
  // Step thread only: whether a range was indexed since start-up, and the
  // head block LogWaiting last said it waits for.
  bool indexed_since_start_ = false;
  uint64_t waiting_logged_ = 0;
  // eth_getLogs of the range expected next, read while this one is written
  // (Step thread only). Only RPC: the range is still checked against the
  // stored chain when it is indexed.
  struct Prefetch {
    uint64_t from = 0, to = 0;
    std::future<absl::StatusOr<std::vector<eth::RawLog>>> logs;
  };
  std::optional<Prefetch> prefetch_;
  std::atomic<uint64_t> indexed_{0};
  std::atomic<bool> has_indexed_{false};

  const Coordination coordination_;
  std::atomic<bool> follower_{true};
  // The backfill chunk this replica works on (Step thread only).
  std::optional<LeasedRange> lease_;
  std::atomic<uint64_t> backfill_pending_{0};

  mutable absl::Mutex mu_;
  std::string halted_ ABSL_GUARDED_BY(mu_);

  // The range on the writer thread (Step thread only). What it will have
  // written stands in for the database until it commits: the hash of its last
  // block (the next range's parent) and the contracts it creates.
  struct PendingWrite {
    uint64_t from = 0, to = 0, head = 0, logs = 0, transfers = 0;
    std::optional<BlockHeader> last;
    std::set<std::string> contracts;
    std::string logs_ms, decode_ms;
    struct Written {
      absl::StatusOr<RangeWritten> result;
      absl::Duration took;
    };
    std::future<Written> written;
  };
  // Last: destroyed (its thread joined) before the members it uses.
  std::optional<PendingWrite> pending_;
};

}  // namespace niftysave::indexer
