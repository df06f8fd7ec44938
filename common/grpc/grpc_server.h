#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc/grpc_security.h"
#include "common/metrics/metrics.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"

namespace niftysave {

// A gRPC server with health checking (grpc.health.v1) and server reflection
// on, every call counted and timed by the metrics interceptor, and request
// messages capped at 4 MiB. With `security` set: TLS (mTLS with a client
// CA) and the caller-token check of server_auth.h, plus the plaintext
// health-only listener if it names one. At most kMaxServerThreads
// calls run at once; more are refused with RESOURCE_EXHAUSTED rather than
// queued.
class GrpcServer {
 public:
  static constexpr int kMaxServerThreads = 128;
  // The health name Kubernetes' liveness and startup probes ask for: SERVING
  // whenever the process answers at all, also while it waits for Postgres
  // (when "" and every service name are NOT_SERVING, so readiness fails),
  // so a pod waiting out a database outage is left alone, not restarted.
  static constexpr char kLivenessName[] = "liveness";

  // `listen` is "127.0.0.1:50051" or "0.0.0.0:0" (port 0 picks one).
  // Health reports SERVING for the server ("") and for each of `services`
  // by its full name ("niftysave.v1.Tracker").
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const std::string& listen, const std::vector<grpc::Service*>& services,
      Metrics& metrics, const GrpcServerSecurity& security);

  // What a service serves before it can do its work (while it waits for
  // Postgres): on `listen` (with `security`'s credentials) and on the
  // plaintext health listener if `security` names one, grpc.health.v1
  // answers NOT_SERVING for the server and for every service name, and any
  // other call fails UNAVAILABLE. So a readiness probe sees "not ready"
  // rather than a refused connection. Shut it down before Start binds the
  // same addresses.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> StartNotServing(
      const std::string& listen, Metrics& metrics,
      const GrpcServerSecurity& security);

  ~GrpcServer();

  int port() const { return port_; }
  int health_port() const { return health_port_; }  // 0: none
  // Health turns NOT_SERVING, then in-flight calls get up to `grace` to
  // finish before the server is torn down.
  void Shutdown(absl::Duration grace);

 private:
  absl::Status StartHealthServer(const std::string& listen);
  void MarkServicesServing();

  std::unique_ptr<grpc::Server> server_;
  // The service outlives the server it is registered with.
  std::unique_ptr<grpc::CallbackGenericService> health_only_;
  std::unique_ptr<grpc::Server> health_server_;
  // The services registered on server_, by full name (filled in while it
  // starts).
  std::vector<std::string> service_names_;
  int port_ = 0;
  int health_port_ = 0;
};

// A client channel to one of our services ("127.0.0.1:50051"), over TLS and
// with a token when `security` says so (see MakeChannelCredentials).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                           const GrpcClientSecurity& security);

}  // namespace niftysave
