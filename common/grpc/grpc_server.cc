#include "common/grpc/grpc_server.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/metrics_interceptor.h"
#include "common/grpc/server_auth.h"
#include "grpcpp/ext/health_check_service_server_builder_option.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "grpcpp/impl/server_initializer.h"
#include "grpcpp/resource_quota.h"

namespace niftysave {
namespace {

// Answers every call to the health-only server but grpc.health.v1 (which
// the builder adds): a server needs a service of its own to start.
class HealthOnlyService final : public grpc::CallbackGenericService {
  class Refusal final : public grpc::ServerGenericBidiReactor {
   public:
    Refusal() {
      Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                          "this port serves grpc.health.v1 only"));
    }
    void OnDone() override { delete this; }
  };
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* /*context*/) override {
    return new Refusal();
  }
};

// True when a serialized grpc.health.v1.HealthCheckRequest asks for
// `name`: the message is only {service: field 1, length-delimited}, so the
// bytes are exactly 0x0a, a one-byte length, the name (names here are
// short); anything else is another name.
bool AsksFor(const grpc::ByteBuffer& request, absl::string_view name) {
  std::vector<grpc::Slice> slices;
  if (!request.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return name.size() < 128 && bytes.size() == name.size() + 2 &&
         bytes[0] == '\x0a' && static_cast<size_t>(bytes[1]) == name.size() &&
         absl::string_view(bytes).substr(2) == name;
}

// The server a service runs while it waits for Postgres. It has no health
// service of its own: this answers grpc.health.v1 itself, NOT_SERVING
// whatever service name is asked (the real services are not registered
// yet, so the default service would answer NOT_FOUND for their names),
// except GrpcServer::kLivenessName, SERVING: the process is alive.
class NotServingService final : public grpc::CallbackGenericService {
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(const std::string& method)
        : check_(method == "/grpc.health.v1.Health/Check"),
          watch_(method == "/grpc.health.v1.Health/Watch") {
      if (check_ || watch_) {
        StartRead(&request_);
      } else {
        Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "not serving yet: waiting for Postgres"));
      }
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
        return;
      }
      // HealthCheckResponse{status}: field 1, varint; SERVING is 1,
      // NOT_SERVING 2.
      const bool alive = AsksFor(request_, GrpcServer::kLivenessName);
      grpc::Slice status(std::string(alive ? "\x08\x01" : "\x08\x02", 2));
      response_ = grpc::ByteBuffer(&status, 1);
      if (check_) {
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
      } else {
        StartWrite(&response_);  // the stream stays open until cancelled
      }
    }
    void OnCancel() override { Finish(grpc::Status::CANCELLED); }
    void OnDone() override { delete this; }

   private:
    const bool check_;
    const bool watch_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new Reactor(context->method());
  }
};

// Collects the full names of the services registered on a server as it
// starts (gRPC hands them only to builder plugins), so health can report
// each by name.
class ServiceNamesOption final : public grpc::ServerBuilderOption {
  class Plugin final : public grpc::ServerBuilderPlugin {
   public:
    explicit Plugin(std::vector<std::string>* names) : names_(names) {}
    std::string name() override { return "niftysave_service_names"; }
    void InitServer(grpc::ServerInitializer* /*si*/) override {}
    void Finish(grpc::ServerInitializer* si) override {
      *names_ = *si->GetServiceList();
    }
    void ChangeArguments(const std::string& /*name*/,
                         void* /*value*/) override {}

   private:
    std::vector<std::string>* names_;
  };

 public:
  explicit ServiceNamesOption(std::vector<std::string>* names)
      : names_(names) {}
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->push_back(std::make_unique<Plugin>(names_));
  }

 private:
  std::vector<std::string>* names_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::StartNotServing(
    const std::string& listen, Metrics& metrics,
    const GrpcServerSecurity& security) {
  auto server = std::unique_ptr<GrpcServer>(new GrpcServer());
  server->health_only_ = std::make_unique<NotServingService>();
  grpc::ServerBuilder builder;
  builder.SetOption(
      std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
  builder.AddListeningPort(listen, MakeServerCredentials(security, metrics),
                           &server->port_);
  if (!security.health_listen.empty()) {
    builder.AddListeningPort(security.health_listen,
                             grpc::InsecureServerCredentials(),
                             &server->health_port_);
  }
  builder.RegisterCallbackGenericService(server->health_only_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0 ||
      (!security.health_listen.empty() && server->health_port_ == 0)) {
    return absl::UnavailableError(
        absl::StrCat("cannot start the not-serving gRPC server on ", listen));
  }
  return server;
}

void GrpcServer::MarkServicesServing() {
  for (grpc::Server* s : {server_.get(), health_server_.get()}) {
    grpc::HealthCheckServiceInterface* health =
        s == nullptr ? nullptr : s->GetHealthCheckService();
    if (health == nullptr) continue;
    health->SetServingStatus(kLivenessName, true);
    for (const std::string& name : service_names_) {
      if (!absl::StartsWith(name, "grpc.")) {
        health->SetServingStatus(name, true);
      }
    }
  }
}

absl::Status GrpcServer::StartHealthServer(const std::string& listen) {
  health_only_ = std::make_unique<HealthOnlyService>();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(),
                           &health_port_);
  builder.RegisterCallbackGenericService(health_only_.get());
  health_server_ = builder.BuildAndStart();
  if (health_server_ == nullptr || health_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot start the gRPC health listener on ", listen));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const std::string& listen, const std::vector<grpc::Service*>& services,
    Metrics& metrics, const GrpcServerSecurity& security) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  auto server = std::unique_ptr<GrpcServer>(new GrpcServer());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, MakeServerCredentials(security, metrics),
                           &server->port_);
  builder.SetMaxReceiveMessageSize(4 << 20);
  // The synchronous server takes a thread per call in progress. Without a cap
  // an overload (calls queueing on the database pool) grows threads without
  // bound and every call misses its deadline; with one, calls beyond it are
  // refused at once with RESOURCE_EXHAUSTED and the rest stay fast.
  grpc::ResourceQuota quota("niftysave-grpc-server");
  quota.SetMaxThreads(kMaxServerThreads);
  builder.SetResourceQuota(quota);
  // Clients reconnect now and then, so replicas the autoscaler adds get
  // their share of long-lived channels.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 5 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 30 * 1000);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(MakeMetricsInterceptorFactory(metrics));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.SetOption(
      std::make_unique<ServiceNamesOption>(&server->service_names_));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot start gRPC server on ", listen));
  }
  if (!security.health_listen.empty()) {
    absl::Status health = server->StartHealthServer(security.health_listen);
    if (!health.ok()) return health;
  }
  server->MarkServicesServing();
  return server;
}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

void GrpcServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  for (grpc::Server* s : {server_.get(), health_server_.get()}) {
    if (s == nullptr) continue;
    if (auto* health = s->GetHealthCheckService())
      health->SetServingStatus(false);
  }
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  server_.reset();
  if (health_server_ != nullptr) {
    health_server_->Shutdown(absl::ToChronoTime(absl::Now()));
    health_server_.reset();
  }
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                           const GrpcClientSecurity& security) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 << 20);
  // With a headless Service ("dns:///name:port") every replica's address
  // comes back from DNS; round robin spreads calls over all of them instead
  // of pinning every call to the first.
  args.SetLoadBalancingPolicyName("round_robin");
  return grpc::CreateCustomChannel(target, MakeChannelCredentials(security),
                                   args);
}

}  // namespace niftysave
