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

}  // namespace niftysave::db
