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

}  // namespace niftysave::db
