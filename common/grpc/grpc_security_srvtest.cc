// TLS, mTLS and caller tokens against real gRPC servers on 127.0.0.1, with
// a PKI made by the openssl CLI in a temp dir.
#include <atomic>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/grpc/grpc_security.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/server_auth.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "niftysave/v1/indexer.grpc.pb.h"
#include "niftysave/v1/tracker.grpc.pb.h"
#include "tests/harness/temp_dir.h"
#include "tests/harness/test_pki.h"

namespace niftysave {
namespace {

constexpr char kReadToken[] = "read-token-0123456789abcdef";
constexpr char kOperateToken[] = "operate-token-0123456789abcdef";

// Handlers that count their calls, so a test sees a denied call never ran.
class CountingIndexer final : public v1::Indexer::Service {
 public:
  grpc::Status Backfill(grpc::ServerContext*, const v1::BackfillRequest*,
                        v1::BackfillResponse*) override {
    ++backfills;
    return grpc::Status::OK;
  }
  std::atomic<int> backfills{0};
};

class AnsweringTracker final : public v1::Tracker::Service {
 public:
  grpc::Status GetStats(grpc::ServerContext*, const v1::GetStatsRequest*,
                        v1::Stats*) override {
    return grpc::Status::OK;
  }
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

class GrpcSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = harness::TempDir::Create("grpc-security");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<harness::TempDir>(*std::move(dir));
    auto pki = harness::MakeTestPki(dir_->path());
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
    tokens_file_ = dir_->path() + "/tokens";
    WriteFile(
        tokens_file_,
        absl::StrCat("# scope caller token\n", "read dashboard ", kReadToken,
                     "\n\noperate indexer-ops ", kOperateToken, "\n"));
    auto metrics = Metrics::Start("127.0.0.1:0", "test");
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    metrics_ = *std::move(metrics);
  }

  absl::StatusOr<GrpcServerSecurity> Server(bool tokens, bool mtls = false) {
    return LoadServerSecurity({"grpc_tls_cert", pki_.server_cert},
                              {"grpc_tls_key", pki_.server_key},
                              {"grpc_tls_client_ca", mtls ? pki_.ca_cert : ""},
                              {"grpc_tokens_file", tokens ? tokens_file_ : ""});
  }

  // Starts the server; returns its address.
  std::string Start(const GrpcServerSecurity& security) {
    auto server = GrpcServer::Start("127.0.0.1:0", {&indexer_, &tracker_},
                                    *metrics_, security);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return "";
    server_ = *std::move(server);
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  GrpcClientSecurity Client(std::string token, bool client_cert = false,
                            bool other_ca = false) {
    GrpcClientSecurity c;
    c.ca_pem = Read(other_ca ? pki_.other_ca_cert : pki_.ca_cert);
    if (client_cert) {
      c.cert_pem = Read(pki_.client_cert);
      c.key_pem = Read(pki_.client_key);
    }
    c.token = std::move(token);
    return c;
  }

  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  static grpc::Status Backfill(const std::string& addr,
                               const GrpcClientSecurity& client) {
    auto stub = v1::Indexer::NewStub(MakeChannel(addr, client));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::BackfillRequest request;
    v1::BackfillResponse response;
    return stub->Backfill(&context, request, &response);
  }

  static grpc::Status GetStats(const std::string& addr,
                               const GrpcClientSecurity& client) {
    auto stub = v1::Tracker::NewStub(MakeChannel(addr, client));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::GetStatsRequest request;
    v1::Stats response;
    return stub->GetStats(&context, request, &response);
  }

  // A call to any method by name, with an empty request.
  // `body` (when given) receives the response's bytes.
  static grpc::Status RawCall(const std::string& addr,
                              const GrpcClientSecurity& client,
                              const std::string& method,
                              std::string* body = nullptr) {
    grpc::GenericStub stub(MakeChannel(addr, client));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    grpc::Slice empty(std::string(""));
    grpc::ByteBuffer request(&empty, 1), response;
    grpc::Status status;
    absl::Notification done;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                   [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    std::vector<grpc::Slice> slices;
    if (body != nullptr && response.Dump(&slices).ok()) {
      for (const grpc::Slice& slice : slices) {
        body->append(reinterpret_cast<const char*>(slice.begin()),
                     slice.size());
      }
    }
    return status;
  }

  double Denied(const std::string& reason) {
    for (const auto& family : metrics_->registry().Collect()) {
      if (family.name != "niftysave_test_grpc_denied_total") continue;
      double total = 0;
      for (const auto& metric : family.metric) {
        for (const auto& label : metric.label) {
          if (label.name == "reason" && label.value == reason)
            total += metric.counter.value;
        }
      }
      return total;
    }
    return 0;
  }

  std::unique_ptr<harness::TempDir> dir_;
  harness::TestPki pki_;
  std::string tokens_file_;
  std::unique_ptr<Metrics> metrics_;
  CountingIndexer indexer_;
  AnsweringTracker tracker_;
  std::unique_ptr<GrpcServer> server_;
};

TEST_F(GrpcSecurityTest, NoTokenIsUnauthenticated) {
  auto security = Server(/*tokens=*/true);
  ASSERT_TRUE(security.ok()) << security.status();
  const std::string addr = Start(*security);
  grpc::Status status = Backfill(addr, Client(""));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << status.error_message();
  EXPECT_EQ(GetStats(addr, Client("")).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(indexer_.backfills, 0);
  EXPECT_EQ(Denied("no_token"), 2);
}

TEST_F(GrpcSecurityTest, UnknownTokenIsUnauthenticated) {
  auto security = Server(/*tokens=*/true);
  ASSERT_TRUE(security.ok()) << security.status();
  const std::string addr = Start(*security);
  // One byte off a known token.
  std::string near = kOperateToken;
  near.back() = 'x';
  EXPECT_EQ(Backfill(addr, Client(near)).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(indexer_.backfills, 0);
  EXPECT_EQ(Denied("unknown_token"), 1);
}

TEST_F(GrpcSecurityTest, ReadTokenCannotBackfill) {
  auto security = Server(/*tokens=*/true);
  ASSERT_TRUE(security.ok()) << security.status();
  const std::string addr = Start(*security);
  grpc::Status status = Backfill(addr, Client(kReadToken));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "dashboard"))
      << status.error_message();
  EXPECT_EQ(indexer_.backfills, 0);
  EXPECT_EQ(Denied("scope"), 1);
  // Methods nobody listed need operate (deny by default).
  EXPECT_EQ(RawCall(addr, Client(kReadToken), "/niftysave.v1.Indexer/Nope")
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(GrpcSecurityTest, ReadTokenQueriesTheTracker) {
  auto security = Server(/*tokens=*/true);
  ASSERT_TRUE(security.ok()) << security.status();
  const std::string addr = Start(*security);
  grpc::Status status = GetStats(addr, Client(kReadToken));
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Denied("scope") + Denied("no_token") + Denied("unknown_token"), 0);
}

TEST_F(GrpcSecurityTest, OperateTokenBackfillsAndReads) {
  auto security = Server(/*tokens=*/true);
  ASSERT_TRUE(security.ok()) << security.status();
  const std::string addr = Start(*security);
  grpc::Status status = Backfill(addr, Client(kOperateToken));
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(indexer_.backfills, 1);
  EXPECT_TRUE(GetStats(addr, Client(kOperateToken)).ok());
  // Past the check, an unknown method is the server's UNIMPLEMENTED.
  EXPECT_EQ(RawCall(addr, Client(kOperateToken), "/niftysave.v1.Indexer/Nope")
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(GrpcSecurityTest, HealthAndReflectionNeedNoToken) {
  auto security = Server(/*tokens=*/true);
  ASSERT_TRUE(security.ok()) << security.status();
  const std::string addr = Start(*security);
  grpc::Status status =
      RawCall(addr, Client(""), "/grpc.health.v1.Health/Check");
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(RequiredScope("/grpc.reflection.v1alpha.ServerReflection/"
                          "ServerReflectionInfo"),
            std::nullopt);
  EXPECT_EQ(RequiredScope("/grpc.health.v1.HealthX/Check"), Scope::kOperate);
}

// The kubelet's gRPC probes speak plaintext only: a TLS server answers them
// on a second listener that serves nothing but health.
TEST_F(GrpcSecurityTest, PlaintextHealthListenerServesHealthOnly) {
  auto security = Server(/*tokens=*/true);
  ASSERT_TRUE(security.ok()) << security.status();
  security->health_listen = "127.0.0.1:0";
  Start(*security);
  ASSERT_NE(server_->health_port(), 0);
  const std::string health = absl::StrCat("127.0.0.1:", server_->health_port());
  grpc::Status status = RawCall(health, {}, "/grpc.health.v1.Health/Check");
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Backfill(health, {}).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(indexer_.backfills, 0);
}

// While a service waits for Postgres its not-serving server answers health
// NOT_SERVING over TLS (no token needed) and on the plaintext health
// listener, refuses every other call, and hands both ports to the real
// server.
TEST_F(GrpcSecurityTest, NotServingServerAnswersHealthOnBothListeners) {
  auto security = Server(/*tokens=*/true);
  ASSERT_TRUE(security.ok()) << security.status();
  security->health_listen = "127.0.0.1:0";
  auto waiting =
      GrpcServer::StartNotServing("127.0.0.1:0", *metrics_, *security);
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  const int port = (*waiting)->port(), health_port = (*waiting)->health_port();
  ASSERT_NE(health_port, 0);
  const std::string addr = absl::StrCat("127.0.0.1:", port);
  const std::string health = absl::StrCat("127.0.0.1:", health_port);
  const std::string kNotServing("\x08\x02", 2);  // {status: NOT_SERVING}
  for (const auto& [target, client] :
       {std::pair{addr, Client("")}, std::pair{health, GrpcClientSecurity{}}}) {
    std::string body;
    grpc::Status status =
        RawCall(target, client, "/grpc.health.v1.Health/Check", &body);
    EXPECT_TRUE(status.ok()) << target << ": " << status.error_message();
    EXPECT_EQ(body, kNotServing) << target;
  }
  EXPECT_EQ(Backfill(addr, Client(kOperateToken)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(indexer_.backfills, 0);

  (*waiting)->Shutdown(absl::ZeroDuration());
  security->health_listen = health;
  auto server = GrpcServer::Start(addr, {&indexer_}, *metrics_, *security);
  ASSERT_TRUE(server.ok()) << server.status();
  std::string body;
  EXPECT_TRUE(RawCall(health, {}, "/grpc.health.v1.Health/Check", &body).ok());
  EXPECT_EQ(body, std::string("\x08\x01", 2));  // SERVING
  EXPECT_TRUE(Backfill(addr, Client(kOperateToken)).ok());
}

TEST_F(GrpcSecurityTest, EveryReadMethodExistsAndStateChangesNeedOperate) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& method : ReadMethods()) {
    // "/pkg.Service/Method" -> "pkg.Service.Method"
    std::string name = method.substr(1);
    name[name.find('/')] = '.';
    EXPECT_NE(pool->FindMethodByName(name), nullptr) << method;
  }
  for (const char* method :
       {"/niftysave.v1.Indexer/Backfill", "/niftysave.v1.Indexer/RefreshToken",
        "/niftysave.v1.Extractor/Enqueue", "/niftysave.v1.Pinner/Pin",
        "/niftysave.v1.Tracker/Track"}) {
    EXPECT_EQ(RequiredScope(method), Scope::kOperate) << method;
  }
  EXPECT_EQ(RequiredScope("/niftysave.v1.Tracker/GetTokenStatus"),
            Scope::kRead);
}

TEST_F(GrpcSecurityTest, TlsNeedsTheRightCa) {
  auto security = Server(/*tokens=*/false);
  ASSERT_TRUE(security.ok()) << security.status();
  const std::string addr = Start(*security);
  EXPECT_TRUE(GetStats(addr, Client("")).ok());
  EXPECT_EQ(GetStats(addr, Client("", false, /*other_ca=*/true)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // A plaintext client cannot talk to a TLS server either.
  EXPECT_EQ(GetStats(addr, {}).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GrpcSecurityTest, MtlsNeedsAClientCertificate) {
  auto security = Server(/*tokens=*/true, /*mtls=*/true);
  ASSERT_TRUE(security.ok()) << security.status();
  const std::string addr = Start(*security);
  EXPECT_EQ(GetStats(addr, Client(kReadToken)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  grpc::Status status =
      GetStats(addr, Client(kReadToken, /*client_cert=*/true));
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(GrpcSecurityTest, BadTokensFilesNameTheLine) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"admin alice 0123456789abcdef0123\n", "line 1: unknown scope 'admin'"},
      {"# two\nread a 0123456789abcdef0123\noperate b 0123456789abcdef0123\n",
       "line 3: same token as line 2"},
      {"read a short\n", "line 1: token shorter than 16 bytes"},
      {"read a\n", "line 1: want <scope> <caller-name> <token>"},
      {"read a/b 0123456789abcdef0123\n", "line 1: caller name"},
      {"# nothing\n", "no tokens"},
  };
  for (const Case& c : cases) {
    WriteFile(tokens_file_, c.text);
    auto security = Server(/*tokens=*/true);
    ASSERT_FALSE(security.ok()) << c.text;
    EXPECT_TRUE(absl::StartsWith(
        security.status().message(),
        absl::StrCat("--grpc_tokens_file: ", tokens_file_, ": ", c.error)))
        << security.status();
    // The token never reaches the message.
    EXPECT_FALSE(absl::StrContains(security.status().message(), "0123456789"));
  }
}

TEST_F(GrpcSecurityTest, BadFilesNameTheFlagAndFile) {
  const std::string missing = dir_->path() + "/missing.pem";
  auto no_cert = LoadServerSecurity({"grpc_tls_cert", missing},
                                    {"grpc_tls_key", pki_.server_key}, {}, {});
  EXPECT_EQ(no_cert.status().message(),
            absl::StrCat("--grpc_tls_cert: ", missing,
                         ": cannot be read (missing or no access)"));
  auto not_pem = LoadServerSecurity({"grpc_tls_cert", tokens_file_},
                                    {"grpc_tls_key", pki_.server_key}, {}, {});
  EXPECT_EQ(not_pem.status().message(),
            absl::StrCat("--grpc_tls_cert: ", tokens_file_,
                         ": holds no PEM certificate"));
  auto wrong_key =
      LoadServerSecurity({"grpc_tls_cert", pki_.server_cert},
                         {"grpc_tls_key", pki_.client_key}, {}, {});
  EXPECT_EQ(wrong_key.status().message(),
            absl::StrCat("--grpc_tls_key: ", pki_.client_key,
                         ": does not match the certificate"));
  auto plaintext_tokens = LoadServerSecurity(
      {"grpc_tls_cert", ""}, {"grpc_tls_key", ""}, {"grpc_tls_client_ca", ""},
      {"grpc_tokens_file", tokens_file_});
  EXPECT_TRUE(
      absl::StartsWith(plaintext_tokens.status().message(),
                       absl::StrCat("--grpc_tokens_file: ", tokens_file_,
                                    ": needs --grpc_tls_cert")))
      << plaintext_tokens.status();
  auto client_token_no_ca = LoadClientSecurity(
      {"grpc_tls_ca", ""}, {"grpc_tls_client_cert", ""},
      {"grpc_tls_client_key", ""}, {"grpc_client_token_file", tokens_file_});
  EXPECT_TRUE(absl::StartsWith(client_token_no_ca.status().message(),
                               "--grpc_client_token_file: "))
      << client_token_no_ca.status();
  // Nothing set: plaintext, as before.
  auto none =
      LoadServerSecurity({"grpc_tls_cert", ""}, {"grpc_tls_key", ""},
                         {"grpc_tls_client_ca", ""}, {"grpc_tokens_file", ""});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->tls());
}

}  // namespace
}  // namespace niftysave
