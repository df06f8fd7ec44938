// Issue 13: a service started while Postgres is unreachable is a live
// process that is not ready. Each real service binary, pointed at a stopped
// Postgres, answers grpc.health.v1 NOT_SERVING (for the server and for its
// service name) and serves /metrics with postgres_up 0; once Postgres is
// back, it answers SERVING on the same port with postgres_up 1. Postgres
// lost later turns postgres_up to 0 until it answers again.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/db/migrations.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/harness/net.h"
#include "tests/harness/postgres_server.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave {
namespace {

using ::testing::HasSubstr;

// grpc.health.v1.HealthCheckResponse.ServingStatus.
constexpr int kServing = 1;
constexpr int kNotServing = 2;

struct Service {
  std::string name;
  std::string binary;
  std::string grpc_service;  // its full name in grpc.health.v1
  std::vector<std::string> flags;
};

const std::vector<Service>& Services() {
  static const auto* kServices = new std::vector<Service>{
      {"indexer",
       NIFTYSAVE_INDEXER_BIN,
       "niftysave.v1.Indexer",
       {"--chain_id=31337", "--rpc_url=http://127.0.0.1:9"}},
      {"extractor",
       NIFTYSAVE_EXTRACTOR_BIN,
       "niftysave.v1.Extractor",
       {"--ipfs_gateways=http://127.0.0.1:9"}},
      {"pinner",
       NIFTYSAVE_PINNER_BIN,
       "niftysave.v1.Pinner",
       {"--kubo_api_url=http://127.0.0.1:9",
        "--ipfs_gateways=http://127.0.0.1:9"}},
      {"tracker",
       NIFTYSAVE_TRACKER_BIN,
       "niftysave.v1.Tracker",
       {"--kubo_api_url=http://127.0.0.1:9"}}};
  return *kServices;
}

// A grpc.health.v1 Check of `service` ("" for the server), encoded by hand
// (the health proto's C++ classes are not installed): the serving status,
// or the RPC's error.
absl::StatusOr<int> HealthCheck(int port, const std::string& service) {
  grpc::GenericStub stub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(2));
  // HealthCheckRequest{service}: field 1, length-delimited.
  std::string wire;
  if (!service.empty()) {
    wire = absl::StrCat("\x0a", std::string(1, char(service.size())), service);
  }
  grpc::Slice slice(wire);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat(status.error_code(), " ", status.error_message()));
  }
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return absl::InternalError("dump");
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  // HealthCheckResponse{status}: field 1, varint; absent is UNKNOWN (0).
  if (bytes.empty()) return 0;
  if (bytes.size() != 2 || bytes[0] != '\x08') {
    return absl::InternalError("unexpected HealthCheckResponse");
  }
  return static_cast<int>(bytes[1]);
}

// The value of niftysave_<service>_postgres_up on /metrics, or "" when
// /metrics does not answer.
std::string PostgresUp(int metrics_port, const std::string& service) {
  auto response = harness::Fetch(
      {.url = absl::StrCat("http://127.0.0.1:", metrics_port, "/metrics")});
  if (!response.ok() || response->status != 200) return "";
  // The sample line, not the HELP line above it.
  const std::string name =
      absl::StrCat("\nniftysave_", service, "_postgres_up ");
  const size_t at = response->body.find(name);
  if (at == std::string::npos) return "missing";
  return response->body.substr(at + name.size(), 1);
}

// Polls postgres_up until it reads `want` (at most `deadline`); the last
// value read.
std::string WaitForPostgresUp(int metrics_port, const std::string& service,
                              const std::string& want,
                              absl::Duration deadline) {
  const absl::Time end = absl::Now() + deadline;
  std::string last = PostgresUp(metrics_port, service);
  while (last != want && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(200));
    last = PostgresUp(metrics_port, service);
  }
  return last;
}

// Polls until the server and `service` both report `want` (at most
// `deadline`); the last status seen otherwise.
absl::Status WaitForHealth(int port, const std::string& service, int want,
                           absl::Duration deadline) {
  const absl::Time end = absl::Now() + deadline;
  absl::Status last = absl::DeadlineExceededError("never asked");
  while (absl::Now() < end) {
    absl::StatusOr<int> overall = HealthCheck(port, "");
    absl::StatusOr<int> named = HealthCheck(port, service);
    if (overall.ok() && named.ok() && *overall == want && *named == want) {
      return absl::OkStatus();
    }
    auto text = [](const absl::StatusOr<int>& s) {
      return s.ok() ? std::to_string(*s) : s.status().ToString();
    };
    last = absl::DeadlineExceededError(absl::StrCat(
        "server: ", text(overall), "; ", service, ": ", text(named)));
    absl::SleepFor(absl::Milliseconds(200));
  }
  return last;
}

TEST(PostgresWaitTest, EveryServiceIsNotServingUntilPostgresAnswers) {
  auto pg = harness::PostgresServer::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  const std::string url = (*pg)->ConnectionString();
  ASSERT_TRUE(db::Migrate(url).ok());
  ASSERT_TRUE((*pg)->Stop().ok());
  auto dir = harness::TempDir::Create("postgres-wait");
  ASSERT_TRUE(dir.ok()) << dir.status();

  struct Running {
    const Service* service;
    int grpc_port;
    int metrics_port;
    std::unique_ptr<harness::Subprocess> proc;
  };
  std::vector<Running> running;
  for (const Service& service : Services()) {
    Running r{&service, harness::PickFreePort(), harness::PickFreePort(), {}};
    std::vector<std::string> args = {
        service.binary, "--database_url=" + url,
        absl::StrCat("--grpc_listen=127.0.0.1:", r.grpc_port),
        absl::StrCat("--metrics_listen=127.0.0.1:", r.metrics_port),
        "--worker_id=wait-" + service.name};
    args.insert(args.end(), service.flags.begin(), service.flags.end());
    auto proc = harness::Subprocess::Start(
        args, {}, absl::StrCat(dir->path(), "/", service.name, ".log"));
    ASSERT_TRUE(proc.ok()) << proc.status();
    r.proc = *std::move(proc);
    running.push_back(std::move(r));
  }

  // Postgres down: alive, not ready, and says so on both surfaces.
  for (Running& r : running) {
    EXPECT_TRUE(WaitForHealth(r.grpc_port, r.service->grpc_service, kNotServing,
                              absl::Seconds(20))
                    .ok())
        << r.service->name;
    EXPECT_EQ(PostgresUp(r.metrics_port, r.service->name), "0")
        << r.service->name;
    // Alive all the same: the liveness and start-up probes' name, so the
    // kubelet does not restart a pod for waiting.
    absl::StatusOr<int> alive = HealthCheck(r.grpc_port, "liveness");
    ASSERT_TRUE(alive.ok()) << r.service->name << ": " << alive.status();
    EXPECT_EQ(*alive, kServing) << r.service->name;
    EXPECT_TRUE(r.proc->Running()) << r.service->name;
  }

  // Postgres back (a start on the same data directory and port): each turns
  // SERVING on the port it answered NOT_SERVING on.
  ASSERT_TRUE((*pg)->RestartImmediately().ok());
  for (Running& r : running) {
    absl::Status serving = WaitForHealth(r.grpc_port, r.service->grpc_service,
                                         kServing, absl::Seconds(30));
    EXPECT_TRUE(serving.ok()) << r.service->name << ": " << serving;
    EXPECT_EQ(PostgresUp(r.metrics_port, r.service->name), "1")
        << r.service->name;
    absl::StatusOr<int> alive = HealthCheck(r.grpc_port, "liveness");
    ASSERT_TRUE(alive.ok()) << r.service->name << ": " << alive.status();
    EXPECT_EQ(*alive, kServing) << r.service->name;
  }

  // Postgres lost after start-up: each says so on /metrics once its next
  // transaction fails, and again when one reaches Postgres; it keeps
  // running through the outage.
  ASSERT_TRUE((*pg)->Stop().ok());
  for (Running& r : running) {
    EXPECT_EQ(WaitForPostgresUp(r.metrics_port, r.service->name, "0",
                                absl::Seconds(30)),
              "0")
        << r.service->name;
    EXPECT_TRUE(r.proc->Running()) << r.service->name;
  }
  ASSERT_TRUE((*pg)->RestartImmediately().ok());
  for (Running& r : running) {
    EXPECT_EQ(WaitForPostgresUp(r.metrics_port, r.service->name, "1",
                                absl::Seconds(30)),
              "1")
        << r.service->name;
  }
  for (Running& r : running) {
    absl::StatusOr<int> code = r.proc->Terminate();
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 0) << r.service->name;
  }
}

// A service that is connected stays SERVING by name: the per-service status
// is set from the services registered on the server, not from a list kept
// by hand.
TEST(PostgresWaitTest, AServiceStartedWithPostgresUpServesItsName) {
  auto pg = harness::PostgresServer::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  const std::string url = (*pg)->ConnectionString();
  ASSERT_TRUE(db::Migrate(url).ok());
  auto dir = harness::TempDir::Create("postgres-up");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const Service& tracker = Services().back();
  const int port = harness::PickFreePort();
  std::vector<std::string> args = {
      tracker.binary, "--database_url=" + url,
      absl::StrCat("--grpc_listen=127.0.0.1:", port),
      "--metrics_listen=127.0.0.1:0"};
  args.insert(args.end(), tracker.flags.begin(), tracker.flags.end());
  auto proc = harness::Subprocess::Start(args, {}, dir->path() + "/t.log");
  ASSERT_TRUE(proc.ok()) << proc.status();
  absl::Status serving =
      WaitForHealth(port, tracker.grpc_service, kServing, absl::Seconds(20));
  EXPECT_TRUE(serving.ok()) << serving;
  // A name no service has is still unknown.
  absl::StatusOr<int> unknown = HealthCheck(port, "niftysave.v1.Nope");
  EXPECT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("5 "));  // NOT_FOUND
  ASSERT_TRUE((*proc)->Terminate().ok());
}

}  // namespace
}  // namespace niftysave
