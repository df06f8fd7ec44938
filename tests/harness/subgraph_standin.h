#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/harness/script_server.h"

namespace niftysave::harness {

// A loopback STAND-IN for a subgraph with the eip721-subgraph schema
// (subgraph_standin.js): no graph-node runs here. It serves `tokens` from a
// fixture with graph-node's paging rules (first <= 1000, skip <= 5000,
// where.id_gt, orderBy: id) and records every query it answered.
class SubgraphStandin {
 public:
  // `tokens`: a JSON array of Token objects as the reply would carry them
  // ({id, tokenID, tokenURI, mintTime, blockNumber, blockHash,
  // contract {id, name, symbol, supportsEIP721Metadata}, owner {id}});
  // served as written, malformed rows included.
  static absl::StatusOr<std::unique_ptr<SubgraphStandin>> Start(
      const nlohmann::json& tokens);
  ~SubgraphStandin();

  // http://127.0.0.1:P/subgraphs/name/niftysave/eip721
  std::string url() const;
  // After `after` more queries, the next `times` fail: a GraphQL error
  // (`http_status` 0) or that HTTP status.
  absl::Status FailNext(int after, int times, int http_status = 0);
  // Every query so far: [{"operation", "first", "skip", "where", "orderBy",
  // "orderDirection", "failed", "error"?}].
  absl::StatusOr<nlohmann::json> Queries();
  // Changes the tokenURI of the row with this id (null: none), as the
  // subgraph would once it indexed a new URI.
  absl::Status SetTokenUri(const std::string& id, const nlohmann::json& uri);
  // Adds rows, or replaces those with the same id.
  absl::Status Upsert(const nlohmann::json& rows);
  // Posts a raw GraphQL request and returns the parsed reply.
  absl::StatusOr<nlohmann::json> Query(const std::string& query,
                                       const nlohmann::json& variables);
  absl::Status Stop();  // idempotent

 private:
  explicit SubgraphStandin(std::unique_ptr<ScriptServer> server)
      : server_(std::move(server)) {}

  std::unique_ptr<ScriptServer> server_;  // its dir holds the fixture
};

}  // namespace niftysave::harness
