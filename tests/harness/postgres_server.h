#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::harness {

// A throwaway PostgreSQL cluster (the newest /usr/lib/postgresql/*/bin) on a
// free 127.0.0.1 port with trust auth for user `postgres` and fsync off, and
// a database `niftysave`. When running as root the server runs as the
// `postgres` OS user (postgres refuses root), so a custom `base_dir` must be
// traversable by that user.
class PostgresServer {
 public:
  // Creates the cluster in a fresh directory under base_dir (default $TMPDIR
  // or /tmp); about 1 s. `settings` are more "name=value" server settings
  // (each a -c), e.g. shared_preload_libraries=pg_stat_statements.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(
      std::string base_dir = "", std::vector<std::string> settings = {});
  ~PostgresServer();

  int port() const { return port_; }
  // postgresql://postgres@127.0.0.1:PORT/<db>
  std::string ConnectionString(const std::string& db = "niftysave") const;
  absl::Status CreateDatabase(const std::string& name);
  // Fast shutdown (what `pg_ctl -m fast stop` sends): open sessions are
  // disconnected rather than waited for. Idempotent.
  absl::Status Stop();
  // An immediate stop (no shutdown checkpoint, sessions cut) and a start on
  // the same data directory and port: a crash and its recovery.
  absl::Status RestartImmediately();

 private:
  // Starts the postmaster on the data directory and waits until it answers.
  absl::Status Launch();

  PostgresServer(TempDir dir, std::string bin_dir, int port)
      : dir_(std::move(dir)), bin_dir_(std::move(bin_dir)), port_(port) {}

  TempDir dir_;  // declared first: removed only after the server stopped
  std::string bin_dir_;
  int port_;
  std::string user_;  // the OS user the server runs as ("" = ours)
  std::vector<std::string> settings_;
  std::unique_ptr<Subprocess> postgres_;
};

}  // namespace niftysave::harness
