#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "common/grpc/grpc_server.h"
#include "common/metrics/metrics.h"
#include "common/runtime/worker.h"

namespace niftysave {

// The flags every service has (each also as NIFTYSAVE_<NAME>):
//   --database_url    Postgres connection URI (required)
//   --db_pool_size    connections in the pool
//   --grpc_listen     host:port for gRPC (health + reflection on)
//   --metrics_listen  host:port for /metrics
//   --log_level       debug|info|warn|error
//   --drain_seconds   how long SIGTERM waits for in-flight work
//   --worker_id       this replica's stable name in the work queues
//                     (default: host name + "-" + service name)
//   and the gRPC security flags of common/grpc/grpc_security_flags.h.
struct ServiceBase {
  std::string name;
  std::string database_url;
  int db_pool_size = 0;
  std::string grpc_listen;
  std::string metrics_listen;
  int drain_seconds = 0;
  // Stable across restarts of one replica (a Kubernetes pod name), unique
  // among live replicas: a restarted worker takes back the leases held
  // under it (TakeBackLeases), so two replicas must never share one.
  std::string worker_id;
  GrpcServerSecurity grpc_security;  // this service's server
  GrpcClientSecurity grpc_client;    // its calls to the other services

  std::unique_ptr<db::Pool> pool;
  std::unique_ptr<Metrics> metrics;
  absl::Notification* shutdown = nullptr;
  // From ConnectOrDie until StartGrpcOrDie: health NOT_SERVING on the gRPC
  // addresses (GrpcServer::StartNotServing).
  std::unique_ptr<GrpcServer> not_serving;
};

// Parses flags (exits 2 with a one-line error on a bad one) and installs the
// SIGTERM handler. Returns the positional arguments. Services then check
// their own flags and call ConnectOrDie, so a bad flag is reported as such
// even when the database is unreachable.
std::vector<char*> InitService(int argc, char** argv, absl::string_view name,
                               absl::string_view usage, int default_grpc_port,
                               int default_metrics_port, ServiceBase& base);

// Starts /metrics and the not-serving gRPC server (health NOT_SERVING), then
// connects the Postgres pool, waiting with back-off while Postgres is
// unreachable; exits 1 with a clear message on a schema that is not ready
// or an address it cannot serve on. niftysave_<service>_postgres_up is 0
// while it waits, 1 once connected; after that it follows the pool (0 from
// a connection that failed or broke until a transaction reaches Postgres
// again), and each change is logged.
void ConnectOrDie(ServiceBase& base);

// At start-up, after ConnectOrDie: makes the leases this replica's
// predecessor (same --worker_id) held on `queue` due now, so it takes them
// back at once instead of waiting out the lease. Logs what it released; a
// failure is logged and the leases simply run out.
void TakeBackLeases(db::WorkQueue& queue);
// The same for leases kept elsewhere: `release` makes them due and returns
// how many; `what` names them in the log.
void TakeBackLeases(absl::string_view what,
                    const std::function<absl::StatusOr<int64_t>()>& release);

// At start-up, after TakeBackLeases, for a queue whose workers claim pins
// (common/db/pin_claims.h): drops the pin claims of `queue` whose claimer's
// lease is gone, the predecessor's among them. Logs how many; a failure is
// logged and the claims are taken over when next asked for.
void DropStaleClaims(db::Pool& pool, db::WorkQueue& queue);

// Stops the not-serving server and starts the gRPC server in its place (on
// the port it had, when --grpc_listen asked for port 0), or exits 1.
std::unique_ptr<GrpcServer> StartGrpcOrDie(
    ServiceBase& base, const std::vector<grpc::Service*>& services);

// Blocks until SIGTERM/SIGINT.
void WaitForShutdown(ServiceBase& base);

}  // namespace niftysave

namespace niftysave {

// N workers running the same step, nudged by the gRPC hand-off.
class WorkerPool {
 public:
  // `gather`: see Worker.
  WorkerPool(const std::string& name, int count, absl::Duration poll,
             const std::function<int()>& step,
             absl::Duration gather = absl::ZeroDuration());
  void Start();
  // A hand-off of `items` arrived: wakes as many workers as leasing them
  // takes (`per_worker` a step), idle ones first, at least one. Waking all
  // of them for each hand-off had most lease nothing.
  void Nudge(int64_t items, int per_worker);
  // Workers asleep between polls now.
  int idle() const;
  void Stop();  // lets each worker's batch in progress finish

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
};

// Exports niftysave_<service>_queue_items{queue,state="ready|dead"}, counted
// every `every` (capped at 100,000 per state; see WorkQueue::GetDepth).
class QueueDepthGauge {
 public:
  QueueDepthGauge(Metrics& metrics, db::WorkQueue& queue, absl::Duration every);
  ~QueueDepthGauge();

 private:
  db::WorkQueue& queue_;
  prometheus::Gauge& ready_;
  prometheus::Gauge& dead_;
  Worker worker_;
};

// The lease heartbeat: every lease/3 renews the leases `queue` holds for
// steps still running (WorkQueue::RenewHeld), so leases can be short and a
// dead worker's come back soon, while a slow step keeps its own. Does
// nothing for a queue whose policy has no renew_for.
class LeaseKeeper {
 public:
  explicit LeaseKeeper(db::WorkQueue& queue);
  ~LeaseKeeper();

 private:
  db::WorkQueue& queue_;
  Worker worker_;
};

// The life of a queue-driven service after start-up: serve gRPC, start the
// workers, wait for SIGTERM, stop accepting calls, let in-flight work
// finish, return 0.
int ServeUntilShutdown(ServiceBase& base,
                       const std::vector<grpc::Service*>& services,
                       WorkerPool& workers);

}  // namespace niftysave
