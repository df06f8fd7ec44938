#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace niftysave::db {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Every migration compiled into this binary, oldest first (generated from
// common/db/migrations/NNNN_name.sql).
const std::vector<Migration>& AllMigrations();

// Applies the pending migrations, each in its own transaction, under a
// Postgres advisory lock so concurrent `migrate` runs serialise. Idempotent.
// Refuses (FailedPrecondition) a database whose schema is newer than this
// binary. Returns the schema version now in force.
absl::StatusOr<int> Migrate(const std::string& conninfo);

// The schema version the database reports (0 when never migrated).
absl::StatusOr<int> SchemaVersion(const std::string& conninfo);

// What a service checks before it touches a table: OK when the database's
// schema is the one this binary was built with, or newer (a rolling upgrade
// migrates first, then replaces the running pods; migrations only add).
// FailedPrecondition when it is missing or older, with a message that says
// so and names the fix (`niftysave migrate`), rather than the first query's
// `relation "chains" does not exist`. A connection failure is returned as is.
absl::Status CheckSchema(const std::string& conninfo);

}  // namespace niftysave::db
