#include "common/service/service_base.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/db/migrations.h"
#include "common/db/pin_claims.h"
#include "common/grpc/grpc_security_flags.h"
#include "common/runtime/flags.h"
#include "common/runtime/log.h"
#include "common/runtime/shutdown.h"

ABSL_FLAG(std::string, database_url, "", "Postgres connection URI (required)");
ABSL_FLAG(int, db_pool_size, 8, "Postgres connections in the pool (1-200)");
ABSL_FLAG(std::string, grpc_listen, "",
          "host:port for gRPC (default 127.0.0.1:<service port>)");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port for /metrics (default 127.0.0.1:<service port>)");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");
ABSL_FLAG(int, drain_seconds, 20,
          "on SIGTERM, seconds to let in-flight work finish (0-600)");

ABSL_FLAG(std::string, worker_id, "",
          "this replica's stable id in the work queues; unique among live "
          "replicas (default: <host name>-<service name>)");

namespace niftysave {
namespace {

[[noreturn]] void Fatal(absl::string_view what, const absl::Status& status) {
  log::Error(std::string(what), {{"error", std::string(status.message())}});
  std::exit(1);
}

// "host:0" with the port a server picked for it; any other address as is.
std::string SamePort(const std::string& listen, int picked) {
  if (picked == 0 || !absl::EndsWith(listen, ":0")) return listen;
  return absl::StrCat(listen.substr(0, listen.size() - 1), picked);
}

// The pod name in Kubernetes (the host name of its container), so a pod
// restarted in place keeps its id and two pods never share one.
std::string WorkerIdFromFlag(const std::string& service) {
  std::string id = absl::GetFlag(FLAGS_worker_id);
  if (id.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    id = absl::StrCat(host, "-", service);
  }
  if (id.size() > 200) DieWithConfigError("worker_id", "at most 200 bytes");
  return id;
}

}  // namespace

std::vector<char*> InitService(int argc, char** argv, absl::string_view name,
                               absl::string_view usage, int default_grpc_port,
                               int default_metrics_port, ServiceBase& base) {
  // Before any thread exists, so every thread inherits the blocked signals.
  base.shutdown = &InstallShutdownHandler();
  std::vector<char*> args = ParseFlags(argc, argv, usage);
  log::SetService(name);
  log::Level level;
  if (!log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    DieWithConfigError("log_level", "must be debug, info, warn or error");
  }
  log::SetMinLevel(level);
  base.name = std::string(name);
  base.database_url = absl::GetFlag(FLAGS_database_url);
  if (base.database_url.empty()) {
    DieWithConfigError("database_url", "required (or NIFTYSAVE_DATABASE_URL)");
  }
  base.db_pool_size = absl::GetFlag(FLAGS_db_pool_size);
  if (base.db_pool_size < 1 || base.db_pool_size > 200) {
    DieWithConfigError("db_pool_size", "must be 1-200");
  }
  base.drain_seconds = absl::GetFlag(FLAGS_drain_seconds);
  if (base.drain_seconds < 0 || base.drain_seconds > 600) {
    DieWithConfigError("drain_seconds", "must be 0-600");
  }
  base.grpc_listen = absl::GetFlag(FLAGS_grpc_listen);
  if (base.grpc_listen.empty()) {
    base.grpc_listen = absl::StrCat("127.0.0.1:", default_grpc_port);
  }
  base.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  if (base.metrics_listen.empty()) {
    base.metrics_listen = absl::StrCat("127.0.0.1:", default_metrics_port);
  }
  base.worker_id = WorkerIdFromFlag(base.name);
  base.grpc_security = GrpcServerSecurityFromFlags();
  base.grpc_client = GrpcClientSecurityFromFlags();

  return args;
}

namespace {

// Until connected, the service answers probes NOT_SERVING and serves
// /metrics, so an orchestrator sees a live process that is not ready.
void ServeNotReady(ServiceBase& base) {
  auto metrics = Metrics::Start(base.metrics_listen, base.name);
  if (!metrics.ok()) Fatal("cannot serve metrics", metrics.status());
  base.metrics = std::move(*metrics);
  auto server = GrpcServer::StartNotServing(base.grpc_listen, *base.metrics,
                                            base.grpc_security);
  if (!server.ok()) Fatal("cannot start gRPC", server.status());
  base.not_serving = std::move(*server);
}

}  // namespace

void ConnectOrDie(ServiceBase& base) {
  ServeNotReady(base);
  prometheus::Gauge& up =
      base.metrics
          ->Gauge("postgres_up",
                  "1 while Postgres answers; 0 while waiting for it at "
                  "start-up, and from a connection to it that failed or "
                  "broke until a transaction reaches it again")
          .Add({});
  // Postgres down (a restart, a failover, a pod started first) is waited
  // for with back-off, said in the log each time, never a reason to exit;
  // a stop signal while waiting ends the process cleanly.
  absl::StatusOr<std::unique_ptr<db::Pool>> pool =
      db::Pool::Create(base.database_url, base.db_pool_size);
  absl::Duration delay = absl::Milliseconds(500);
  for (int attempt = 1; !pool.ok(); ++attempt) {
    log::Warn(
        "waiting for Postgres",
        {{"attempt", std::to_string(attempt)},
         {"retry_in_ms", std::to_string(absl::ToInt64Milliseconds(delay))},
         {"grpc_port", std::to_string(base.not_serving->port())},
         {"error", std::string(pool.status().message())}});
    if (base.shutdown->WaitForNotificationWithTimeout(delay)) {
      log::Info("stopped while waiting for Postgres", {});
      std::exit(0);
    }
    delay = std::min(delay * 2, absl::Seconds(30));
    pool = db::Pool::Create(base.database_url, base.db_pool_size);
  }
  if (absl::Status s = db::CheckSchema(base.database_url); !s.ok()) {
    Fatal("database schema not ready", s);
  }
  base.pool = std::move(*pool);
  up.Set(1);
  // Past start-up an outage is waited out call by call (each fails
  // Unavailable and is retried by its caller); the gauge and the log say
  // when it starts and ends.
  base.pool->SetReachabilityListener(
      [&up](bool reachable, const std::string& error) {
        up.Set(reachable ? 1 : 0);
        if (reachable) {
          log::Info("Postgres answers again", {});
        } else {
          log::Warn("lost Postgres", {{"error", error}});
        }
      });
}

void TakeBackLeases(db::WorkQueue& queue) {
  TakeBackLeases(queue.name(), [&queue] { return queue.ReleaseHeld(); });
}

void TakeBackLeases(absl::string_view what,
                    const std::function<absl::StatusOr<int64_t>()>& release) {
  absl::StatusOr<int64_t> released = release();
  if (!released.ok()) {
    log::Warn("could not take back this worker's leases; they run out",
              {{"queue", std::string(what)},
               {"error", std::string(released.status().message())}});
    return;
  }
  log::Info(
      "took back this worker's leases",
      {{"queue", std::string(what)}, {"released", std::to_string(*released)}});
}

void DropStaleClaims(db::Pool& pool, db::WorkQueue& queue) {
  absl::StatusOr<int64_t> dropped = db::DropStalePinClaims(pool, queue.name());
  if (!dropped.ok()) {
    log::Warn("could not drop stale pin claims",
              {{"queue", queue.name()},
               {"error", std::string(dropped.status().message())}});
    return;
  }
  log::Info("dropped stale pin claims",
            {{"queue", queue.name()}, {"dropped", std::to_string(*dropped)}});
}

std::unique_ptr<GrpcServer> StartGrpcOrDie(
    ServiceBase& base, const std::vector<grpc::Service*>& services) {
  std::string listen = base.grpc_listen;
  GrpcServerSecurity security = base.grpc_security;
  if (base.not_serving != nullptr) {
    // Port 0 picked a port for the not-serving server: keep that one.
    listen = SamePort(listen, base.not_serving->port());
    security.health_listen =
        SamePort(security.health_listen, base.not_serving->health_port());
    base.not_serving->Shutdown(absl::ZeroDuration());
    base.not_serving.reset();
  }
  auto server = GrpcServer::Start(listen, services, *base.metrics, security);
  if (!server.ok()) Fatal("cannot start gRPC", server.status());
  log::Info("serving",
            {{"grpc", base.grpc_listen},
             {"grpc_port", std::to_string((*server)->port())},
             {"metrics_port", std::to_string(base.metrics->port())}});
  return std::move(*server);
}

void WaitForShutdown(ServiceBase& base) {
  base.shutdown->WaitForNotification();
}

}  // namespace niftysave

namespace niftysave {

WorkerPool::WorkerPool(const std::string& name, int count, absl::Duration poll,
                       const std::function<int()>& step,
                       absl::Duration gather) {
  for (int i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<Worker>(name, poll, step, gather));
  }
}

void WorkerPool::Start() {
  for (auto& w : workers_) w->Start();
}

void WorkerPool::Nudge(int64_t items, int per_worker) {
  const int64_t want = std::clamp<int64_t>(
      (items + std::max(1, per_worker) - 1) / std::max(1, per_worker), 1,
      static_cast<int64_t>(workers_.size()));
  int64_t nudged = 0;
  for (auto& w : workers_) {
    if (nudged == want) return;
    if (w->Idle()) {
      w->Nudge();
      ++nudged;
    }
  }
  // Not enough asleep: the rest are busy and lease again when their step
  // ends; a nudge makes sure one that just found nothing does not sleep.
  for (auto& w : workers_) {
    if (nudged == want) return;
    if (!w->Idle()) {
      w->Nudge();
      ++nudged;
    }
  }
}

int WorkerPool::idle() const {
  int n = 0;
  for (const auto& w : workers_) n += w->Idle() ? 1 : 0;
  return n;
}

void WorkerPool::Stop() {
  for (auto& w : workers_) w->Stop();
}

QueueDepthGauge::QueueDepthGauge(Metrics& metrics, db::WorkQueue& queue,
                                 absl::Duration every)
    : queue_(queue),
      ready_(metrics
                 .Gauge("queue_items",
                        "Work items in the service's queue, by state (capped "
                        "at 100000)")
                 .Add({{"queue", queue.name()}, {"state", "ready"}})),
      dead_(metrics.Gauge("queue_items", "")
                .Add({{"queue", queue.name()}, {"state", "dead"}})),
      worker_("queue-depth", every, [this] {
        if (auto depth = queue_.GetDepth(); depth.ok()) {
          ready_.Set(static_cast<double>(depth->ready));
          dead_.Set(static_cast<double>(depth->dead));
        }
        return 0;  // sleep until the next interval
      }) {
  worker_.Start();
}

QueueDepthGauge::~QueueDepthGauge() { worker_.Stop(); }

LeaseKeeper::LeaseKeeper(db::WorkQueue& queue)
    : queue_(queue), worker_("lease-keeper", queue.policy().lease / 3, [this] {
        if (absl::StatusOr<int64_t> renewed = queue_.RenewHeld();
            !renewed.ok()) {
          log::Warn("could not renew leases",
                    {{"queue", queue_.name()},
                     {"error", std::string(renewed.status().message())}});
        }
        return 0;  // sleep until the next beat
      }) {
  if (queue.policy().renew_for > absl::ZeroDuration()) worker_.Start();
}

LeaseKeeper::~LeaseKeeper() { worker_.Stop(); }

int ServeUntilShutdown(ServiceBase& base,
                       const std::vector<grpc::Service*>& services,
                       WorkerPool& workers) {
  auto server = StartGrpcOrDie(base, services);
  workers.Start();
  WaitForShutdown(base);
  server->Shutdown(absl::Seconds(base.drain_seconds));
  workers.Stop();
  log::Info("stopped");
  return 0;
}

}  // namespace niftysave
