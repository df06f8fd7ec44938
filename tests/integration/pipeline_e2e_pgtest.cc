// End to end on real components: Postgres, anvil, a js-ipfs node and an
// HTTPS metadata server on loopback, the four service binaries as processes.
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/ipfs/kubo_backend.h"
#include "gtest/gtest.h"
#include "tests/harness/subprocess.h"
#include "tests/integration/local_pipeline.h"

namespace niftysave::pipeline {
namespace {

#define ASSERT_OK(expr)                          \
  do {                                           \
    const absl::Status s_ = (expr);              \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_; \
  } while (0)

std::string Metrics(int port) {
  http::HttpClient http({});
  auto r =
      http.Fetch({.url = absl::StrCat("http://127.0.0.1:", port, "/metrics")});
  return r.ok() ? r->body : "";
}

// The Python grpcio client (stubs generated from our protos) asking about
// token #1, which must be archived; `extra` adds TLS and token flags.
std::vector<std::string> InteropCommand(const LocalPipeline& p,
                                        std::vector<std::string> extra) {
  std::vector<std::string> command = {
      "/usr/bin/python3",
      NIFTYSAVE_SOURCE_DIR "/tests/interop/grpc_interop.py",
      "--protos=" NIFTYSAVE_SOURCE_DIR "/protos",
      "--tracker=" + p.grpc_addr("tracker"),
      "--indexer=" + p.grpc_addr("indexer"),
      "--chain=31337",
      "--contract=" + p.contract_hex(),
      "--token=1",
      "--expect_status=ARCHIVED"};
  command.insert(command.end(), extra.begin(), extra.end());
  return command;
}

// Checks the report against what the collection was minted with: the token's
// status and reason, and for an archived token that the metadata and every
// expected asset are pinned under the CID the IPFS node computes itself.
void ExpectMatches(const ExpectedToken& want, const v1::TokenStatusReport& got,
                   ipfs::PinBackend& ipfs) {
  SCOPED_TRACE("token #" + want.token_id + " (" + want.label + ")");
  if (want.status == "failed") {
    EXPECT_EQ(got.status(), v1::TOKEN_STATUS_FAILED);
    EXPECT_EQ(got.failure().reason(), want.reason) << got.failure().detail();
    return;
  }
  ASSERT_EQ(got.status(), v1::TOKEN_STATUS_ARCHIVED)
      << got.failure().reason() << ": " << got.failure().detail();
  EXPECT_EQ(got.token_uri(), want.token_uri);
  EXPECT_EQ(got.owner(), "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
  std::map<std::string, v1::Resource> by_path;
  by_path[""] = got.metadata();
  for (const v1::Asset& a : got.assets()) by_path[a.json_path()] = a.resource();
  EXPECT_EQ(by_path.size(), want.cids.size());
  for (const auto& [path, cid] : want.cids) {
    SCOPED_TRACE("json path '" + path + "'");
    ASSERT_TRUE(by_path.count(path));
    const v1::Resource& r = by_path[path];
    EXPECT_EQ(r.cid(), cid);
    EXPECT_EQ(r.status(), v1::RESOURCE_STATUS_PINNED);
    ASSERT_EQ(r.pins_size(), 1);
    EXPECT_EQ(r.pins(0).backend(), "kubo");
    EXPECT_EQ(r.pins(0).status(), v1::PIN_STATUS_PINNED);
    // And the IPFS node really holds the pin.
    auto state = ipfs.Status(cid);
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ(*state, ipfs::PinState::kPinned);
  }
}

TEST(PipelineE2ETest, DemoCollectionEndsArchivedWithTheRightCids) {
  auto pipeline = LocalPipeline::Start({});
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  LocalPipeline& p = **pipeline;
  ASSERT_OK(p.StartAllServices());
  auto tokens = p.SeedDemoCollection();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_OK(p.WaitUntilSettled(*tokens, absl::Seconds(120)));

  http::HttpClient http({});
  ipfs::KuboBackend ipfs(http, {.api_url = p.ipfs_api_url()});
  for (const ExpectedToken& t : *tokens) {
    auto report = p.GetTokenStatus(t.token_id);
    ASSERT_TRUE(report.ok()) << report.status();
    ExpectMatches(t, *report, ipfs);
  }
  // The same CID reached through a gateway URL and ipfs:// is one resource
  // with one pin: token #2's animation is token #1's image.
  auto one = p.GetTokenStatus("1");
  auto two = p.GetTokenStatus("2");
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(two->assets(0).json_path(), "$.animation_url");
  EXPECT_EQ(two->assets(0).resource().normalized(),
            one->assets(0).resource().normalized());

  auto counts = p.TokenCounts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)["archived"], 4);
  EXPECT_EQ((*counts)["failed"], 2);

  // Unknown tokens and bad keys are clear errors, not crashes.
  auto missing = p.GetTokenStatus("999");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);

  // The operator's CLI reads the same answers.
  auto status_out = harness::RunCommand(
      {NIFTYSAVE_CLI_BIN, "status", "--tracker_addr=" + p.grpc_addr("tracker"),
       "31337", p.contract_hex(), "3"},
      absl::Seconds(20));
  ASSERT_TRUE(status_out.ok()) << status_out.status();
  EXPECT_TRUE(absl::StrContains(*status_out, "archived")) << *status_out;
  EXPECT_TRUE(absl::StrContains(*status_out, (*tokens)[2].cids.at("$.image")))
      << *status_out;
  auto summary = harness::RunCommand(
      {NIFTYSAVE_CLI_BIN, "summary", "--database_url=" + p.database_url()},
      absl::Seconds(20));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_TRUE(absl::StrContains(*summary, "http_4xx")) << *summary;

  // A second gRPC implementation (Python grpcio, stubs generated from our
  // protos) gets the same answers, and sees health checking and reflection.
  auto interop = harness::RunCommand(InteropCommand(p, {}), absl::Seconds(60));
  ASSERT_TRUE(interop.ok()) << interop.status();
  EXPECT_TRUE(absl::StrContains(*interop, "\"health\": \"SERVING\""))
      << *interop;
  EXPECT_TRUE(absl::StrContains(*interop, "\"tokensIndexed\": \"6\""))
      << *interop;
  EXPECT_TRUE(absl::StrContains(*interop, (*tokens)[0].cids.at("")))
      << *interop;

  // Every service's /metrics passes promtool and carries its own families.
  for (const char* service : LocalPipeline::kServices) {
    SCOPED_TRACE(service);
    const std::string body = Metrics(p.metrics_port(service));
    EXPECT_TRUE(absl::StrContains(body, absl::StrCat("niftysave_", service,
                                                     "_grpc_requests_total")) ||
                std::string(service) == "indexer")
        << body.substr(0, 500);
    const std::string file = p.log_path(service) + ".metrics";
    std::ofstream(file) << body;
    auto check = harness::RunCommand(
        {"sh", "-c", "promtool check metrics < " + file}, absl::Seconds(20));
    EXPECT_TRUE(check.ok()) << check.status();
  }
  EXPECT_TRUE(absl::StrContains(Metrics(p.metrics_port("indexer")),
                                "niftysave_indexer_tokens_minted_total 6"));

  // The funnel gauges and queue depth follow the records (recounted every
  // second here).
  const std::string archived =
      "niftysave_tracker_records{reason=\"\",record=\"tokens\",status="
      "\"archived\"} 4";
  std::string tracker_metrics;
  for (int i = 0; i < 50 && !absl::StrContains(tracker_metrics, archived);
       ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    tracker_metrics = Metrics(p.metrics_port("tracker"));
  }
  EXPECT_TRUE(absl::StrContains(tracker_metrics, archived)) << tracker_metrics;
  EXPECT_TRUE(absl::StrContains(tracker_metrics,
                                "niftysave_tracker_records{reason=\"http_4xx\","
                                "record=\"tokens\",status=\"failed\"} 1"));
  EXPECT_TRUE(absl::StrContains(
      Metrics(p.metrics_port("pinner")),
      "niftysave_pinner_queue_items{queue=\"pin\",state=\"dead\"} 0"));

  // SIGTERM drains and exits 0.
  ASSERT_OK(p.StopAllServices());
}

// The same pipeline with every gRPC hop over mTLS and each caller holding a
// token: the services' hand-offs (Enqueue, Pin, Track: operate) go through,
// a read token answers the CLI and the Python client, and neither a missing
// token nor a read token gets an operate method.
TEST(PipelineE2ETest, SecuredPipelineRunsOverMtlsWithTokens) {
  auto pipeline = LocalPipeline::Start({.secure = true});
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  LocalPipeline& p = **pipeline;
  ASSERT_OK(p.StartAllServices());
  auto tokens = p.SeedDemoCollection();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_OK(p.WaitUntilSettled(*tokens, absl::Seconds(120)));
  auto report = p.GetTokenStatus("1");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->status(), v1::TOKEN_STATUS_ARCHIVED);

  // The hand-offs were accepted, not left to polling.
  EXPECT_TRUE(absl::StrContains(
      Metrics(p.metrics_port("indexer")),
      "niftysave_indexer_notifications_total{outcome=\"failed\"} 0"));
  const std::string extractor = Metrics(p.metrics_port("extractor"));
  EXPECT_TRUE(absl::StrContains(
      extractor, "niftysave_extractor_notifications_total{outcome=\"ok\"}"))
      << extractor;
  EXPECT_FALSE(absl::StrContains(
      extractor,
      "niftysave_extractor_notifications_total{outcome=\"failed\"}"));
  for (const char* service : LocalPipeline::kServices) {
    EXPECT_FALSE(absl::StrContains(Metrics(p.metrics_port(service)),
                                   "grpc_denied_total{"))
        << service;
  }

  const harness::TestPki& pki = p.pki();
  const std::vector<std::string> tls = {
      "--tracker_addr=" + p.grpc_addr("tracker"),
      "--grpc_tls_ca=" + pki.ca_cert,
      "--grpc_tls_client_cert=" + pki.client_cert,
      "--grpc_tls_client_key=" + pki.client_key};
  auto cli = [&](std::vector<std::string> flags) {
    std::vector<std::string> argv = {NIFTYSAVE_CLI_BIN, "status"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"31337", p.contract_hex(), "1"});
    return harness::RunCommand(argv, absl::Seconds(20));
  };
  std::vector<std::string> with_token = tls;
  with_token.push_back("--grpc_client_token_file=" + p.token_file("dashboard"));
  auto status_out = cli(with_token);
  ASSERT_TRUE(status_out.ok()) << status_out.status();
  EXPECT_TRUE(absl::StrContains(*status_out, "archived")) << *status_out;
  auto no_token = cli(tls);
  EXPECT_FALSE(no_token.ok());
  EXPECT_TRUE(absl::StrContains(no_token.status().message(), "no token"))
      << no_token.status();

  // The Python client over mTLS with the read token.
  auto interop = harness::RunCommand(
      InteropCommand(
          p, {"--tls_ca=" + pki.ca_cert, "--client_cert=" + pki.client_cert,
              "--client_key=" + pki.client_key,
              "--token_file=" + p.token_file("dashboard")}),
      absl::Seconds(60));
  ASSERT_TRUE(interop.ok()) << interop.status();
  EXPECT_TRUE(absl::StrContains(*interop, "\"health\": \"SERVING\""))
      << *interop;
  EXPECT_TRUE(absl::StrContains(*interop, "\"no_token\": \"UNAUTHENTICATED"))
      << *interop;
  EXPECT_TRUE(absl::StrContains(*interop,
                                "\"read_token_backfill\": \"PERMISSION_DENIED"))
      << *interop;
  EXPECT_TRUE(absl::StrContains(*interop, (*tokens)[0].cids.at("")))
      << *interop;
  // Both refusals were counted by the servers that made them.
  EXPECT_TRUE(absl::StrContains(
      Metrics(p.metrics_port("tracker")),
      "niftysave_tracker_grpc_denied_total{caller=\"\",reason=\"no_token\"}"));
  EXPECT_TRUE(absl::StrContains(Metrics(p.metrics_port("indexer")),
                                "niftysave_indexer_grpc_denied_total{caller="
                                "\"dashboard\",reason=\"scope\"} 1"));
  ASSERT_OK(p.StopAllServices());
}

TEST(PipelineE2ETest, LostNotificationIsRecoveredFromTheQueue) {
  auto pipeline = LocalPipeline::Start({});
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  LocalPipeline& p = **pipeline;
  // Everything but the extractor: the indexer's hand-off has nowhere to go.
  for (const char* service : {"tracker", "pinner", "indexer"})
    ASSERT_OK(p.StartService(service));
  auto token = p.MintHttpsToken("100");
  ASSERT_TRUE(token.ok()) << token.status();

  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::StatusOr<v1::TokenStatusReport> report;
  while (absl::Now() < deadline) {
    report = p.GetTokenStatus("100");
    if (report.ok()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->status(), v1::TOKEN_STATUS_QUEUED);
  // The hand-off follows the token's URI read, a moment after the token is
  // recorded.
  const std::string failed_once =
      "niftysave_indexer_notifications_total{outcome=\"failed\"} 1";
  std::string indexer_metrics;
  while (absl::Now() < deadline) {
    indexer_metrics = Metrics(p.metrics_port("indexer"));
    if (absl::StrContains(indexer_metrics, failed_once)) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(absl::StrContains(indexer_metrics, failed_once))
      << indexer_metrics;

  // The extractor comes up later and finds the work in Postgres by itself.
  ASSERT_OK(p.StartService("extractor"));
  ASSERT_OK(p.WaitUntilSettled({*token}, absl::Seconds(60)));
  http::HttpClient http({});
  ipfs::KuboBackend ipfs(http, {.api_url = p.ipfs_api_url()});
  auto settled = p.GetTokenStatus("100");
  ASSERT_TRUE(settled.ok());
  ExpectMatches(*token, *settled, ipfs);
  ASSERT_OK(p.StopAllServices());
}

}  // namespace
}  // namespace niftysave::pipeline
