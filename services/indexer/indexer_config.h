#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/db/queue_item.h"
#include "common/http/http_client.h"
#include "services/indexer/chain_indexer.h"
#include "services/indexer/subgraph_source.h"
#include "services/indexer/uri_read_pacer.h"
#include "services/indexer/uri_reader.h"

namespace niftysave::indexer {

// Every flag of niftysave-indexer, read and checked (indexer_config.cc holds
// the flags; only the binary compiles it).
struct IndexerConfig {
  ChainConfig chain;      // worker_id: --worker_id
  bool subgraph = false;  // --source=subgraph: pages of tokens, no chain
  std::vector<std::string> rpc_urls;
  SubgraphSource::Options subgraph_options;
  http::HttpLimits http_limits;  // one JSON-RPC or subgraph request
  absl::Duration poll;
  // 0: no follower election (one replica per chain).
  bool follower_election = true;
  int uri_readers = 2;        // threads; 0 when --uri_reader=false
  std::string uri_worker_id;  // --worker_id, the URI-read leases' holder
  UriReaderConfig uri;
  db::QueuePolicy uri_policy;
  UriReadPacer::Options pacing;
  std::string extractor_addr;
};

// Reads the flags; exits with a one-line error on a bad one (before
// anything connects). `worker_id` is the service's stable --worker_id.
IndexerConfig ReadIndexerConfig(const std::string& worker_id);

}  // namespace niftysave::indexer
