#pragma once

// What a pipeline run leaves in Postgres, reduced to comparable records, and
// the differences between two runs of the same workload.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace niftysave::chaos {

// Table → logical key → the values recorded under that key (sorted). A key
// holds one value in a sound run; two values under one key is a duplicate.
// Keys and values leave out what legitimately differs between runs (row
// ids, timestamps, block hashes, attempt counters).
using Records =
    std::map<std::string, std::map<std::string, std::vector<std::string>>>;

// Reads the records: tokens (status, reason, URI, owner), resources,
// token-resource links, token links, metadata, pins per (CID, backend),
// transfers, ERC-1155 balances, and dead queue items by queue.
absl::StatusOr<Records> ReadRecords(const std::string& database_url);

struct TableDiff {
  int64_t lost = 0;        // in the reference run, missing here
  int64_t duplicated = 0;  // recorded more often here than in the reference
  int64_t differing = 0;   // same key, other value
  std::vector<std::string> examples;  // the first few, for the report
};
struct Diff {
  std::map<std::string, TableDiff> tables;  // only tables that differ
  int64_t lost() const;
  int64_t duplicated() const;
  int64_t differing() const;
  bool empty() const { return tables.empty(); }
  std::string ToString() const;
};
Diff Compare(const Records& reference, const Records& got);

// The invariants a settled run keeps, whatever happened on the way.
struct Invariants {
  int64_t queue_items_left = 0;        // work_queue rows still ready
  int64_t archived_with_unpinned = 0;  // archived tokens x unpinned links
  int64_t unsettled = 0;               // tokens, resources, pins in flight
  int64_t pinned_not_on_node = -1;     // -1: not checked
  // Transfers recorded on a block the node no longer has at that height
  // (an orphaned block not rolled back); -1: not checked.
  int64_t off_chain_transfers = -1;
  std::vector<std::string> examples;
  bool ok() const {
    return queue_items_left == 0 && archived_with_unpinned == 0 &&
           unsettled == 0 && pinned_not_on_node <= 0 &&
           off_chain_transfers <= 0;
  }
  std::string ToString() const;
};
// `ipfs_api_url` empty: pins are not checked on the node; `rpc_url` empty:
// transfers' blocks are not checked against the chain.
absl::StatusOr<Invariants> CheckInvariants(const std::string& database_url,
                                           const std::string& ipfs_api_url,
                                           const std::string& rpc_url);

}  // namespace niftysave::chaos
