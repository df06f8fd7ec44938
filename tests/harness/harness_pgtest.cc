// Starts each harness component for real and checks that it answers.

#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/harness/anvil_node.h"
#include "tests/harness/fixture_http_server.h"
#include "tests/harness/ipfs_node.h"
#include "tests/harness/net.h"
#include "tests/harness/postgres_server.h"
#include "tests/harness/rpc_proxy.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::harness {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// True once `pid` is gone or a zombie nobody has reaped yet.
bool ProcessGone(int pid) {
  std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  size_t paren = stat.rfind(')');
  return stat.empty() || (paren != std::string::npos && stat[paren + 2] == 'Z');
}

bool EventuallyGone(int pid) {
  for (int i = 0; i < 100 && !ProcessGone(pid); ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  return ProcessGone(pid);
}

template <typename Start>
auto Timed(const char* what, Start start) {
  absl::Time begin = absl::Now();
  auto result = start();
  std::cout << what << " started in "
            << absl::FormatDuration(absl::Now() - begin) << "\n";
  return result;
}

TEST(SubprocessTest, LogsOutputAndReturnsExitCode) {
  absl::StatusOr<TempDir> dir = TempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string log = dir->path() + "/log";
  auto process = Subprocess::Start(
      {"sh", "-c", "echo out $GREETING; echo err >&2; exit 3"},
      {{"GREETING", "hi"}}, log);
  ASSERT_TRUE(process.ok()) << process.status();
  absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 3);
  EXPECT_FALSE((*process)->Running());
  EXPECT_EQ(ReadFile(log), "out hi\nerr\n");
}

TEST(SubprocessTest, MissingBinaryFailsAtStart) {
  auto process = Subprocess::Start({"/nonexistent/binary"}, {}, "/dev/null");
  EXPECT_EQ(process.status().code(), absl::StatusCode::kNotFound);
}

TEST(SubprocessTest, TerminateKillsGroupThatIgnoresSigterm) {
  absl::StatusOr<TempDir> dir = TempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string pid_file = dir->path() + "/grandchild.pid";
  auto process =
      Subprocess::Start({"sh", "-c",
                         absl::StrCat("trap '' TERM; sleep 1000 & echo $! > ",
                                      pid_file, "; wait")},
                        {}, dir->path() + "/log");
  ASSERT_TRUE(process.ok()) << process.status();
  while (ReadFile(pid_file).empty()) absl::SleepFor(absl::Milliseconds(10));
  const int grandchild = std::stoi(ReadFile(pid_file));

  absl::StatusOr<int> code = (*process)->Terminate(absl::Milliseconds(200));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 128 + SIGKILL);
  EXPECT_TRUE(EventuallyGone(grandchild));
}

TEST(SubprocessTest, ChildDiesWithItsParent) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t parent = fork();
  if (parent == 0) {  // stands in for a test binary that crashes
    auto process = Subprocess::Start({"sleep", "1000"}, {}, "/dev/null");
    int pid = process.ok() ? (*process)->pid() : -1;
    (void)!write(pipe_fds[1], &pid, sizeof(pid));
    _exit(0);  // no destructors, like a crash
  }
  int pid = -1;
  ASSERT_EQ(read(pipe_fds[0], &pid, sizeof(pid)), sizeof(pid));
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  waitpid(parent, nullptr, 0);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(EventuallyGone(pid));
}

TEST(SubprocessTest, RunCommandCapturesOutputAndFailures) {
  absl::StatusOr<std::string> out =
      RunCommand({"echo", "hello"}, absl::Seconds(10));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "hello\n");

  absl::StatusOr<std::string> failed =
      RunCommand({"sh", "-c", "echo boom; exit 2"}, absl::Seconds(10));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(failed.status().message(), HasSubstr("boom"));

  absl::Time begin = absl::Now();
  absl::StatusOr<std::string> slow =
      RunCommand({"sleep", "100"}, absl::Milliseconds(200));
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - begin, absl::Seconds(5));
}

TEST(SubprocessTest, WaitUntilReadyReportsComponentAndLogTail) {
  absl::StatusOr<TempDir> dir = TempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.status();
  auto never = [] { return absl::UnavailableError("probe says no"); };

  auto crashing = Subprocess::Start({"sh", "-c", "echo fatal: boom; exit 1"},
                                    {}, dir->path() + "/crash.log");
  ASSERT_TRUE(crashing.ok()) << crashing.status();
  absl::Status crashed =
      WaitUntilReady(**crashing, "Widget", absl::Seconds(10), never);
  EXPECT_EQ(crashed.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(crashed.message(), HasSubstr("Widget exited with code 1"));
  EXPECT_THAT(crashed.message(), HasSubstr("fatal: boom"));

  auto hanging = Subprocess::Start({"sh", "-c", "echo stuck; exec sleep 100"},
                                   {}, dir->path() + "/hang.log");
  ASSERT_TRUE(hanging.ok()) << hanging.status();
  absl::Status hung =
      WaitUntilReady(**hanging, "Gadget", absl::Milliseconds(300), never);
  EXPECT_EQ(hung.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(hung.message(), HasSubstr("Gadget not ready"));
  EXPECT_THAT(hung.message(), HasSubstr("probe says no"));
  EXPECT_THAT(hung.message(), HasSubstr("stuck"));
}

TEST(TempDirTest, RemovedOnDestruction) {
  std::string path;
  {
    absl::StatusOr<TempDir> dir = TempDir::Create("harness-test");
    ASSERT_TRUE(dir.ok()) << dir.status();
    path = dir->path();
    std::filesystem::create_directories(path + "/a/b");
    std::ofstream(path + "/a/b/file") << "x";
    EXPECT_TRUE(std::filesystem::exists(path + "/a/b/file"));
  }
  const char* keep = std::getenv("NIFTYSAVE_KEEP_TEMP");
  if (keep == nullptr || std::string(keep) != "1") {
    EXPECT_FALSE(std::filesystem::exists(path));
  }
}

TEST(NetTest, PickFreePortNeverRepeats) {
  std::set<int> ports;
  for (int i = 0; i < 50; ++i) ports.insert(PickFreePort());
  EXPECT_EQ(ports.size(), 50u);
  EXPECT_GT(*ports.begin(), 0);
}

std::string QueryOne(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::string value;
  if (PQstatus(conn) != CONNECTION_OK) {
    ADD_FAILURE() << PQerrorMessage(conn);
  } else {
    PGresult* result = PQexec(conn, sql.c_str());
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1) {
      value = PQgetvalue(result, 0, 0);
    } else {
      ADD_FAILURE() << PQresultErrorMessage(result);
    }
    PQclear(result);
  }
  PQfinish(conn);
  return value;
}

TEST(PostgresServerTest, AnswersQueries) {
  auto pg = Timed("PostgresServer", [] { return PostgresServer::Start(); });
  ASSERT_TRUE(pg.ok()) << pg.status();
  EXPECT_EQ((*pg)->ConnectionString(),
            absl::StrCat("postgresql://postgres@127.0.0.1:", (*pg)->port(),
                         "/niftysave"));
  EXPECT_EQ(QueryOne((*pg)->ConnectionString(),
                     "SELECT current_database() || ' ' || current_user"),
            "niftysave postgres");
  EXPECT_EQ(QueryOne((*pg)->ConnectionString(), "SHOW max_connections"), "200");

  ASSERT_TRUE((*pg)->CreateDatabase("second").ok());
  EXPECT_EQ(
      QueryOne((*pg)->ConnectionString("second"), "SELECT current_database()"),
      "second");

  EXPECT_TRUE((*pg)->Stop().ok());
  EXPECT_FALSE(CheckTcp((*pg)->port()).ok());
}

TEST(PostgresServerTest, RestartImmediatelyKeepsCommittedData) {
  auto pg = PostgresServer::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  const std::string url = (*pg)->ConnectionString();
  EXPECT_EQ(QueryOne(url,
                     "CREATE TABLE kept AS SELECT 42 AS v; "
                     "SELECT count(*) FROM kept"),
            "1");
  const std::string before = QueryOne(url, "SELECT pg_postmaster_start_time()");
  ASSERT_TRUE((*pg)->RestartImmediately().ok());
  // A new postmaster on the same port and data, after crash recovery.
  EXPECT_NE(QueryOne(url, "SELECT pg_postmaster_start_time()"), before);
  EXPECT_EQ(QueryOne(url, "SELECT v FROM kept"), "42");
}

absl::StatusOr<nlohmann::json> JsonRpc(const std::string& url,
                                       const std::string& method) {
  absl::StatusOr<HttpResponse> response =
      Fetch({.method = "POST",
             .url = url,
             .body = nlohmann::json{{"jsonrpc", "2.0"},
                                    {"id", 1},
                                    {"method", method},
                                    {"params", nlohmann::json::array()}}
                         .dump(),
             .headers = {"Content-Type: application/json"}});
  if (!response.ok()) return response.status();
  return nlohmann::json::parse(response->body)["result"];
}

TEST(AnvilNodeTest, AnswersJsonRpc) {
  auto anvil = Timed("AnvilNode", [] {
    return AnvilNode::Start({.block_time_seconds = 0, .chain_id = 1337});
  });
  ASSERT_TRUE(anvil.ok()) << anvil.status();
  absl::StatusOr<nlohmann::json> block =
      JsonRpc((*anvil)->rpc_url(), "eth_blockNumber");
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(*block, "0x0");
  absl::StatusOr<nlohmann::json> chain =
      JsonRpc((*anvil)->rpc_url(), "eth_chainId");
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(*chain, "0x539");
  absl::StatusOr<nlohmann::json> accounts =
      JsonRpc((*anvil)->rpc_url(), "eth_accounts");
  ASSERT_TRUE(accounts.ok()) << accounts.status();
  ASSERT_FALSE(accounts->empty());
  EXPECT_EQ((*accounts)[0].get<std::string>(),
            absl::AsciiStrToLower(AnvilNode::kDevAccount));
  EXPECT_TRUE((*anvil)->Stop().ok());
}

// anvil spills the states of older blocks to $HOME/.foundry/anvil/tmp and
// never removes them; AnvilNode makes its HOME its own directory, so they go
// with the node instead of filling the disk run after run.
TEST(AnvilNodeTest, SpillsOldStatesIntoItsOwnDirectory) {
  absl::StatusOr<TempDir> home = TempDir::Create("anvil-home");
  ASSERT_TRUE(home.ok()) << home.status();
  const char* was = std::getenv("HOME");
  const std::string saved = was == nullptr ? "" : was;
  setenv("HOME", home->path().c_str(), 1);
  auto anvil = AnvilNode::Start();
  setenv("HOME", saved.c_str(), 1);
  ASSERT_TRUE(anvil.ok()) << anvil.status();
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<HttpResponse> mined =
        Fetch({.method = "POST",
               .url = (*anvil)->rpc_url(),
               .body = R"({"jsonrpc":"2.0","id":1,"method":"anvil_mine",)"
                       R"("params":["0xfa"]})",
               .headers = {"Content-Type: application/json"}});
    ASSERT_TRUE(mined.ok()) << mined.status();
    ASSERT_EQ(mined->status, 200) << mined->body;
  }
  // 1,000 blocks are more than anvil keeps in memory: it spilled, and there.
  EXPECT_TRUE(std::filesystem::exists((*anvil)->dir() + "/.foundry/anvil/tmp"));
  EXPECT_FALSE(std::filesystem::exists(home->path() + "/.foundry"));
  EXPECT_TRUE((*anvil)->Stop().ok());
}

// The faults a seeded proxy applies with a probability: about that share,
// and the same requests again when replayed with the seed.
TEST(RpcProxyTest, ProbabilityFaultsAreSeeded) {
  auto anvil = AnvilNode::Start();
  ASSERT_TRUE(anvil.ok()) << anvil.status();
  std::vector<std::string> runs;
  for (int run = 0; run < 2; ++run) {
    auto proxy = RpcProxy::Start((*anvil)->rpc_url());
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    ASSERT_TRUE(
        (*proxy)
            ->AddFault(
                {.kind = "status", .probability = 0.2, .seed = 7, .times = -1})
            .ok());
    std::string pattern;
    for (int i = 0; i < 200; ++i) {
      absl::StatusOr<HttpResponse> r =
          Fetch({.method = "POST",
                 .url = (*proxy)->url(),
                 .body = R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId"})",
                 .headers = {"Content-Type: application/json"}});
      ASSERT_TRUE(r.ok()) << r.status();
      pattern.push_back(r->status == 503 ? 'x' : '.');
    }
    runs.push_back(pattern);
  }
  EXPECT_EQ(runs[0], runs[1]);
  const auto failed = std::count(runs[0].begin(), runs[0].end(), 'x');
  EXPECT_GT(failed, 20) << runs[0];
  EXPECT_LT(failed, 60) << runs[0];
}

TEST(IpfsNodeTest, TwoNodesAddAndServeThroughGateway) {
  // Two at once: js-ipfs binds fixed ports unless every listener is moved.
  auto a = Timed("IpfsNode", [] { return IpfsNode::Start(); });
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = IpfsNode::Start();
  ASSERT_TRUE(b.ok()) << b.status();

  for (const auto* node : {a->get(), b->get()}) {
    absl::StatusOr<HttpResponse> id =
        Fetch({.method = "POST", .url = node->api_url() + "/api/v0/id"});
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(id->status, 200);
    EXPECT_THAT(id->body, HasSubstr("\"ID\""));
  }

  absl::StatusOr<std::string> cid = (*a)->Add("hello from the harness\n");
  ASSERT_TRUE(cid.ok()) << cid.status();
  absl::StatusOr<HttpResponse> cat =
      Fetch({.url = (*a)->gateway_url() + "/ipfs/" + *cid});
  ASSERT_TRUE(cat.ok()) << cat.status();
  EXPECT_EQ(cat->status, 200);
  EXPECT_EQ(cat->body, "hello from the harness\n");

  // Add's query reaches the node: the default is CIDv0, cid-version=1 makes
  // a raw leaf in base32, and only-hash stores nothing on the other node.
  EXPECT_EQ(cid->substr(0, 2), "Qm") << *cid;
  absl::StatusOr<std::string> v1 =
      (*b)->Add("hello from the harness\n",
                {.query = "cid-version=1&cid-base=base32&only-hash=true"});
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->substr(0, 7), "bafkrei") << *v1;
  absl::StatusOr<HttpResponse> absent =
      Fetch({.method = "POST",
             .url = (*b)->api_url() +
                    "/api/v0/block/stat?offline=true&timeout=1s&arg=" + *v1});
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_NE(absent->status, 200) << absent->body;
  // An answer other than 200 is an error that says what the node said.
  absl::StatusOr<std::string> refused =
      (*a)->Add("x", {.query = "cid-version=7"});
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("IpfsNode: add: HTTP"));
  EXPECT_TRUE((*a)->Stop().ok());
  EXPECT_TRUE((*b)->Stop().ok());
}

TEST(IpfsNodeTest, RestartAfterKillKeepsRepoAndPorts) {
  auto node = IpfsNode::Start();
  ASSERT_TRUE(node.ok()) << node.status();
  absl::StatusOr<std::string> cid = (*node)->Add("survives a kill -9\n");
  ASSERT_TRUE(cid.ok()) << cid.status();
  const int gateway = (*node)->gateway_port();
  ASSERT_TRUE((*node)->Kill().ok());
  EXPECT_FALSE(CheckTcp(gateway).ok());
  // The kill left repo.lock; a daemon started on it exits at once ("Lock
  // already being held") until the lock is 20 s old.
  absl::Status restarted = (*node)->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_EQ((*node)->gateway_port(), gateway);
  absl::StatusOr<HttpResponse> cat =
      Fetch({.url = (*node)->gateway_url() + "/ipfs/" + *cid});
  ASSERT_TRUE(cat.ok()) << cat.status();
  EXPECT_EQ(cat->body, "survives a kill -9\n");
}

TEST(FixtureHttpServerTest, ServesFilesAndTestRoutes) {
  absl::StatusOr<TempDir> root = TempDir::Create("fixture-root");
  ASSERT_TRUE(root.ok()) << root.status();
  std::ofstream(root->path() + "/meta.json") << R"({"name":"nft"})";
  auto server = Timed("FixtureHttpServer",
                      [&] { return FixtureHttpServer::Start(root->path()); });
  ASSERT_TRUE(server.ok()) << server.status();
  const FixtureHttpServer& s = **server;

  auto get = [&](const std::string& url) {
    absl::StatusOr<HttpResponse> r =
        Fetch({.url = url, .ca_file = s.ca_file()});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(HttpResponse{});
  };
  EXPECT_EQ(get(s.http_url() + "/meta.json").body, R"({"name":"nft"})");
  EXPECT_EQ(get(s.https_url() + "/meta.json").body, R"({"name":"nft"})");
  EXPECT_EQ(get(s.http_url() + "/missing.json").status, 404);
  EXPECT_EQ(get(s.https_url() + "/status/503").status, 503);
  EXPECT_EQ(get(s.http_url() + "/redirect?to=%2Fmeta.json").status, 302);
  EXPECT_EQ(get(s.http_url() + "/retry-after?s=3").status, 429);
  EXPECT_EQ(get(s.http_url() + "/huge?bytes=3000000").body.size(), 3000000u);
  EXPECT_EQ(get(s.http_url() + "/drip?bytes=3&ms=10").body, "xxx");

  // Without the CA file the self-signed certificate must be rejected.
  EXPECT_FALSE(Fetch({.url = s.https_url() + "/meta.json"}).ok());
  // A slow answer trips the client's timeout.
  EXPECT_FALSE(Fetch({.url = s.http_url() + "/slow?ms=3000",
                      .timeout = absl::Milliseconds(300)})
                   .ok());
  EXPECT_TRUE((*server)->Stop().ok());
}

// The pipeline benchmark's many web hosts: one process listens on each
// address (and only those), its certificate names each, and every file
// answer is held while test routes are not.
TEST(FixtureHttpServerTest, ListensOnEveryHostAndHoldsFileAnswers) {
  absl::StatusOr<TempDir> root = TempDir::Create("fixture-root");
  ASSERT_TRUE(root.ok()) << root.status();
  std::ofstream(root->path() + "/meta.json") << R"({"name":"nft"})";
  auto server = FixtureHttpServer::Start(
      root->path(), {.hosts = {"127.0.0.2", "127.0.0.3"}, .delay_ms = 3000});
  ASSERT_TRUE(server.ok()) << server.status();
  const FixtureHttpServer& s = **server;
  EXPECT_EQ(s.http_url(), absl::StrCat("http://127.0.0.2:", s.http_port()));

  for (const char* host : {"127.0.0.2", "127.0.0.3"}) {
    for (const auto& [scheme, port] :
         {std::pair{"http", s.http_port()}, {"https", s.https_port()}}) {
      const std::string base = absl::StrCat(scheme, "://", host, ":", port);
      absl::StatusOr<HttpResponse> quick = Fetch({.url = base + "/status/200",
                                                  .ca_file = s.ca_file(),
                                                  .timeout = absl::Seconds(2)});
      ASSERT_TRUE(quick.ok()) << base << ": " << quick.status();
      EXPECT_EQ(quick->status, 200) << base;
      EXPECT_FALSE(Fetch({.url = base + "/meta.json",
                          .ca_file = s.ca_file(),
                          .timeout = absl::Seconds(1)})
                       .ok())
          << base << " answered a file before its delay";
    }
  }
  absl::StatusOr<HttpResponse> held =
      Fetch({.url = s.https_url() + "/meta.json", .ca_file = s.ca_file()});
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->body, R"({"name":"nft"})");
  EXPECT_FALSE(Fetch({.url = absl::StrCat("http://127.0.0.1:", s.http_port(),
                                          "/status/200")})
                   .ok())
      << "127.0.0.1 is not one of the hosts";
  EXPECT_TRUE((*server)->Stop().ok());
}

}  // namespace
}  // namespace niftysave::harness
