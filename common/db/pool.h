#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pqxx/pqxx"

namespace niftysave::db {

struct PoolOptions {
  // How long Run waits for a free connection when all are busy. Past it,
  // Run fails Unavailable with reason "db_pool_exhausted" instead of
  // blocking its caller (a gRPC handler, a worker) indefinitely.
  absl::Duration acquire_timeout = absl::Seconds(5);
};

// A fixed-size pool of Postgres connections. Connections are opened lazily
// and re-opened after they break, so a database restart costs one failed
// call per connection, not the process.
class Pool {
 public:
  static absl::StatusOr<std::unique_ptr<Pool>> Create(std::string conninfo,
                                                      int size,
                                                      PoolOptions options = {});
  ~Pool();

  // Runs `fn` in one transaction and commits when it returns OK. pqxx
  // exceptions never escape: they become a Status (unique_violation →
  // AlreadyExists, serialization/deadlock → Aborted, broken connection →
  // Unavailable, anything else → Internal). When no connection frees up
  // within the acquire timeout, `fn` is not called and the result is
  // Unavailable with reason "db_pool_exhausted".
  absl::Status Run(const std::function<absl::Status(pqxx::work&)>& fn);

  const std::string& conninfo() const { return conninfo_; }

  // Follows whether Postgres answers: `listener` is called with false when
  // a connection to it fails or breaks, and with true when a transaction
  // next reaches it (whatever its outcome), on each change only, one call
  // at a time and in the order the changes happened. Set it once, before
  // the pool is shared; it starts from "reachable" (Create connected).
  void SetReachabilityListener(
      std::function<void(bool reachable, const std::string& error)> listener);

 private:
  Pool(std::string conninfo, int size, PoolOptions options);
  // Takes a slot (false when none frees up in time); then Connect returns
  // an open connection for it, which may throw.
  bool TakeSlot(std::unique_ptr<pqxx::connection>& conn);
  std::unique_ptr<pqxx::connection> Connect(
      std::unique_ptr<pqxx::connection> conn);
  void Release(std::unique_ptr<pqxx::connection> conn);
  // Records the outcome of reaching Postgres; calls the listener on a change.
  void NoteReachable(bool reachable, const std::string& error);

  const std::string conninfo_;
  const int size_;
  const PoolOptions options_;
  absl::Mutex mu_;
  int available_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> reachable_{true};
  absl::Mutex listener_mu_;  // orders the listener's calls
  std::function<void(bool, const std::string&)> listener_
      ABSL_GUARDED_BY(listener_mu_);
};

// Maps a caught exception (from pqxx or elsewhere) to a Status.
absl::Status StatusFromException(const std::exception& e);

// Renders a list of ids as a Postgres array literal for `= ANY($1::bigint[])`.
std::string BigintArray(const std::vector<int64_t>& ids);

// Appends `value` as one quoted element of a Postgres array literal, escaped.
// Postgres text cannot hold NUL, so a NUL byte becomes U+FFFD rather than
// failing the whole statement.
void AppendArrayText(std::string& out, absl::string_view value);

// A text[] literal for `= ANY($1::text[])` or `unnest($1::text[])`; nullopt
// elements are NULL.
std::string TextArray(const std::vector<std::optional<std::string>>& values);
std::string TextArray(const std::vector<std::string>& values);

}  // namespace niftysave::db
