#include "common/db/migrations.h"

#include "absl/strings/str_cat.h"
#include "common/db/pool.h"
#include "common/runtime/log.h"
#include "pqxx/pqxx"

namespace niftysave::db {
namespace {

// Arbitrary, fixed: "niftysave" in ASCII, truncated to fit a bigint.
constexpr int64_t kMigrationLockKey = 0x6e69667479736176;

constexpr char kCreateVersionTable[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";

int CurrentVersion(pqxx::connection& conn) {
  pqxx::nontransaction txn(conn);
  pqxx::result exists =
      txn.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists[0][0].as<bool>()) return 0;
  return txn
      .exec("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0]
      .as<int>();
}

}  // namespace

absl::StatusOr<int> SchemaVersion(const std::string& conninfo) {
  try {
    pqxx::connection conn(conninfo);
    return CurrentVersion(conn);
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::Status CheckSchema(const std::string& conninfo) {
  const auto& all = AllMigrations();
  const int latest = all.empty() ? 0 : all.back().version;
  absl::StatusOr<int> version = SchemaVersion(conninfo);
  if (!version.ok()) return version.status();
  constexpr char kFix[] =
      "run `niftysave migrate --database_url=<this database>` first";
  if (*version == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database has no niftysave schema (never migrated; this binary "
        "needs version ",
        latest, "): ", kFix));
  }
  if (*version < latest) {
    return absl::FailedPreconditionError(
        absl::StrCat("the database schema is at version ", *version,
                     ", older than this binary's ", latest, ": ", kFix));
  }
  if (*version > latest) {
    log::Warn("database schema is newer than this binary",
              {{"schema_version", std::to_string(*version)},
               {"binary_version", std::to_string(latest)}});
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Migrate(const std::string& conninfo) {
  const auto& all = AllMigrations();
  const int latest = all.empty() ? 0 : all.back().version;
  try {
    pqxx::connection conn(conninfo);
    {
      pqxx::nontransaction txn(conn);
      txn.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
      txn.exec(kCreateVersionTable);
    }
    int version = CurrentVersion(conn);
    absl::Status refused;
    if (version > latest) {
      refused = absl::FailedPreconditionError(absl::StrCat(
          "database schema is at version ", version,
          ", newer than this binary knows (", latest,
          "): upgrade niftysave before running it against this database"));
    }
    for (const Migration& m : all) {
      if (!refused.ok() || m.version <= version) continue;
      pqxx::work txn(conn);
      txn.exec(m.sql);
      txn.exec_params(
          "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
          m.version, m.name);
      txn.commit();
      log::Info("applied migration",
                {{"version", std::to_string(m.version)}, {"name", m.name}});
      version = m.version;
    }
    pqxx::nontransaction txn(conn);
    txn.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
    if (!refused.ok()) return refused;
    return version;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

}  // namespace niftysave::db
