#pragma once

#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "pqxx/pqxx"

namespace niftysave::db {

// The name a constant statement is prepared under: "ns_" and the hex of a
// 64-bit hash (FNV-1a) of its text, so the same text always has the same
// name. Two texts sharing a name would make pqxx refuse the second
// definition (an Internal status), not run the wrong statement.
std::string PreparedName(absl::string_view sql);

// Runs one of the repositories' constant SQL statements (never text built
// at run time: each distinct text stays prepared for the connection's life)
// as a prepared statement of the transaction's connection. The server parses
// and plans it on the connection's first use instead of on every call; the
// hot paths run thousands of times a minute. A connection re-opened after a
// failure prepares again on first use.
template <typename... Args>
pqxx::result Exec(pqxx::work& txn, const char* sql, Args&&... args) {
  std::string name = PreparedName(sql);
  txn.conn().prepare(name, sql);  // defined once per connection, then a lookup
  return txn.exec_prepared(name, std::forward<Args>(args)...);
}

// Exec for a statement that returns exactly one row.
template <typename... Args>
pqxx::row Exec1(pqxx::work& txn, const char* sql, Args&&... args) {
  std::string name = PreparedName(sql);
  txn.conn().prepare(name, sql);
  return txn.exec_prepared1(name, std::forward<Args>(args)...);
}

// Runs a constant statement that picks rows of a growing table by an array
// parameter (`id = ANY($1::bigint[])`) unprepared, so the server plans it for
// these arguments and the table as it is now, on every call. A prepared
// statement's cached generic plan is made once for the connection's life from
// the statistics of that moment: a table analyzed while nearly empty (every
// deployment's first minutes) gives a sequential scan, which the generic
// plan then keeps as the table grows, and each call reads the whole table
// (the pinner's and the tracker's lookups in pipeline_bench: 10-30 ms a call
// at 20,000 tokens, and growing). Planning costs ~0.1-0.5 ms; a scan of a
// table of millions costs seconds. Statements keyed by scalars stay prepared
// (Exec): their generic plan is an index probe at any size.
template <typename... Args>
pqxx::result ExecPlanned(pqxx::work& txn, const char* sql, Args&&... args) {
  return txn.exec_params(sql, std::forward<Args>(args)...);
}

}  // namespace niftysave::db
