#include "common/db/pool.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/db/prepared.h"
#include "common/runtime/reason.h"
#include "common/runtime/utf8.h"

namespace niftysave::db {

absl::StatusOr<std::unique_ptr<Pool>> Pool::Create(std::string conninfo,
                                                   int size,
                                                   PoolOptions options) {
  if (size < 1) return absl::InvalidArgumentError("pool size must be >= 1");
  if (options.acquire_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("pool acquire timeout must be > 0");
  }
  std::unique_ptr<Pool> pool(
      new Pool(std::move(conninfo), size, std::move(options)));
  // Connect once now so a wrong DSN is a start-up error, not a first-request
  // one.
  absl::Status status = pool->Run([](pqxx::work& txn) {
    txn.exec("SELECT 1");
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return pool;
}

Pool::Pool(std::string conninfo, int size, PoolOptions options)
    : conninfo_(std::move(conninfo)),
      size_(size),
      options_(std::move(options)),
      available_(size) {}

Pool::~Pool() = default;

bool Pool::TakeSlot(std::unique_ptr<pqxx::connection>& conn) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]()
                   ABSL_SHARED_LOCKS_REQUIRED(mu_) { return available_ > 0; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ready),
                            options_.acquire_timeout)) {
    return false;
  }
  --available_;
  if (!idle_.empty()) {
    conn = std::move(idle_.back());
    idle_.pop_back();
  }
  return true;
}

std::unique_ptr<pqxx::connection> Pool::Connect(
    std::unique_ptr<pqxx::connection> conn) {
  if (conn == nullptr || !conn->is_open()) {
    conn = std::make_unique<pqxx::connection>(conninfo_);
  }
  return conn;
}

void Pool::Release(std::unique_ptr<pqxx::connection> conn) {
  absl::MutexLock lock(&mu_);
  ++available_;
  if (conn != nullptr && conn->is_open()) idle_.push_back(std::move(conn));
}

void Pool::SetReachabilityListener(
    std::function<void(bool, const std::string&)> listener) {
  absl::MutexLock lock(&listener_mu_);
  listener_ = std::move(listener);
}

void Pool::NoteReachable(bool reachable, const std::string& error) {
  // The common case, no change, takes no lock.
  if (reachable_.load(std::memory_order_relaxed) == reachable) return;
  absl::MutexLock lock(&listener_mu_);
  if (reachable_.exchange(reachable) == reachable) return;
  if (listener_) listener_(reachable, error);
}

absl::Status Pool::Run(const std::function<absl::Status(pqxx::work&)>& fn) {
  std::unique_ptr<pqxx::connection> conn;
  if (!TakeSlot(conn)) {
    return ErrorWithReason(
        absl::StatusCode::kUnavailable, "db_pool_exhausted",
        absl::StrCat("postgres: no free connection within ",
                     absl::FormatDuration(options_.acquire_timeout),
                     " (pool of ", size_, ")"));
  }
  absl::Status status;
  bool reached = true;
  try {
    conn = Connect(std::move(conn));
    pqxx::work txn(*conn);
    status = fn(txn);
    if (status.ok()) txn.commit();
  } catch (const pqxx::broken_connection& e) {
    conn.reset();
    status = StatusFromException(e);
    reached = false;
  } catch (const std::exception& e) {
    status = StatusFromException(e);
  }
  Release(std::move(conn));
  NoteReachable(reached, reached ? "" : std::string(status.message()));
  return status;
}

absl::Status StatusFromException(const std::exception& e) {
  if (dynamic_cast<const pqxx::unique_violation*>(&e) != nullptr) {
    return absl::AlreadyExistsError(e.what());
  }
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr ||
      dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr) {
    return absl::AbortedError(e.what());
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError(absl::StrCat("postgres: ", e.what()));
  }
  if (dynamic_cast<const pqxx::data_exception*>(&e) != nullptr) {
    return absl::InvalidArgumentError(e.what());
  }
  return absl::InternalError(e.what());
}

std::string BigintArray(const std::vector<int64_t>& ids) {
  return absl::StrCat("{", absl::StrJoin(ids, ","), "}");
}

void AppendArrayText(std::string& out, absl::string_view value) {
  out.push_back('"');
  // Valid UTF-8 without NUL: one bad byte from outside would fail the whole
  // statement, and with it every other row of the batch.
  const std::string cleaned = IsValidUtf8(value) ? "" : ValidUtf8(value);
  for (char c : cleaned.empty() ? value : absl::string_view(cleaned)) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string TextArray(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (values[i]) {
      AppendArrayText(out, *values[i]);
    } else {
      out += "NULL";
    }
  }
  return out + "}";
}

std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    AppendArrayText(out, values[i]);
  }
  return out + "}";
}

}  // namespace niftysave::db

namespace niftysave::db {

std::string PreparedName(absl::string_view sql) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a, 64 bits
  for (unsigned char c : sql) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return absl::StrFormat("ns_%016x", hash);
}

}  // namespace niftysave::db
