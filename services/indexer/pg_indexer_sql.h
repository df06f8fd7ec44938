#pragma once
// What the Pg indexer repositories share (internal to pg_*_repository.cc):
// the SQL text of a URI read's outcome, the array parameters bulk writes
// pass, and the recompute of owners and balances that the range write and
// the rollback both end with.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pqxx/pqxx"

namespace niftysave::indexer::pgsql {

// The `reason` and `detail` a URI read writes (SQL SET items over `tokens t`
// and a read `u` with columns r and d). A token whose tokenURI reverted
// while it is burned has no URI to read, and that is not its last word: its
// next mint queues a read again (RecordRange). So the revert is recorded as
// `token_burned`, not as the contract's final `token_uri_revert`.
#define NS_TOKEN_URI_REASON                                   \
  "reason = CASE WHEN u.r = 'token_uri_revert' AND t.burned " \
  "THEN 'token_burned' ELSE u.r END, "                        \
  "detail = CASE WHEN u.r = 'token_uri_revert' AND t.burned " \
  "THEN 'burned: its next mint reads it again (' || u.d || ')' ELSE u.d END"

template <typename Int>
std::string IntArray(const std::vector<Int>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}
std::string IntArray(const std::vector<std::optional<int64_t>>& values);

// "t"/"f" values as a Postgres boolean array literal.
std::string BoolArray(const std::vector<std::string>& values);

// An empty text as NULL.
std::optional<std::string> Opt(const std::string& s);

inline int64_t I64(uint64_t v) { return static_cast<int64_t>(v); }

// (contract, token id) pairs as the $2/$3 arrays of the recompute queries.
struct AffectedTokens {
  std::set<std::pair<std::string, std::string>> keys;
  void Add(const std::string& contract, const std::string& id) {
    keys.emplace(contract, id);
  }
  std::string Contracts() const;
  std::string Ids() const;
};

// ERC-721 owners (unless `owners` is false: they are set already) and
// ERC-1155 balances of the affected tokens.
void Recompute(pqxx::work& txn, int64_t chain, const AffectedTokens& affected,
               bool rebuild_balances, bool owners = true);

}  // namespace niftysave::indexer::pgsql
