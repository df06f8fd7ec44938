#include "tests/harness/subgraph_standin.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "tests/harness/net.h"

namespace niftysave::harness {
namespace {

constexpr char kScript[] =
    NIFTYSAVE_SOURCE_DIR "/tests/harness/subgraph_standin.js";

}  // namespace

absl::StatusOr<std::unique_ptr<SubgraphStandin>> SubgraphStandin::Start(
    const nlohmann::json& tokens) {
  if (!tokens.is_array()) {
    return absl::InvalidArgumentError("the fixture must be a JSON array");
  }
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-subgraph");
  if (!dir.ok()) return dir.status();
  const std::string fixture = dir->path() + "/tokens.json";
  {
    std::ofstream out(fixture, std::ios::binary);
    out << tokens.dump();
    if (!out.good()) return absl::InternalError("cannot write " + fixture);
  }
  const int port = PickFreePort();
  std::unique_ptr<SubgraphStandin> server(
      new SubgraphStandin(*std::move(dir), port));
  absl::StatusOr<std::unique_ptr<Subprocess>> node = Subprocess::Start(
      {"node", kScript, "--port", absl::StrCat(port), "--fixture", fixture}, {},
      server->dir_.path() + "/standin.log");
  if (!node.ok()) return node.status();
  server->node_ = *std::move(node);
  const std::string probe =
      absl::StrCat("http://127.0.0.1:", port, "/_standin/requests");
  absl::Status ready =
      WaitUntilReady(*server->node_, "SubgraphStandin", absl::Seconds(30),
                     [&] { return CheckHttp(probe); });
  if (!ready.ok()) return ready;
  return server;
}

SubgraphStandin::~SubgraphStandin() { (void)Stop(); }

std::string SubgraphStandin::url() const {
  return absl::StrCat("http://127.0.0.1:", port_,
                      "/subgraphs/name/niftysave/eip721");
}

absl::Status SubgraphStandin::FailNext(int after, int times, int http_status) {
  nlohmann::json body = {{"kind", http_status == 0 ? "graphql" : "http"},
                         {"status", http_status},
                         {"after", after},
                         {"times", times}};
  absl::StatusOr<HttpResponse> r =
      Fetch({.method = "POST",
             .url = absl::StrCat("http://127.0.0.1:", port_, "/_standin/fail"),
             .body = body.dump(),
             .headers = {"Content-Type: application/json"}});
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::InternalError(absl::StrCat("FailNext: HTTP ", r->status));
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> SubgraphStandin::Queries() {
  absl::StatusOr<HttpResponse> r = Fetch(
      {.url = absl::StrCat("http://127.0.0.1:", port_, "/_standin/requests")});
  if (!r.ok()) return r.status();
  nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("queries")) {
    return absl::InternalError("Queries: bad JSON");
  }
  return j["queries"];
}

absl::StatusOr<nlohmann::json> SubgraphStandin::Query(
    const std::string& query, const nlohmann::json& variables) {
  nlohmann::json body = {{"query", query}, {"variables", variables}};
  absl::StatusOr<HttpResponse> r =
      Fetch({.method = "POST",
             .url = url(),
             .body = body.dump(),
             .headers = {"Content-Type: application/json"}});
  if (!r.ok()) return r.status();
  nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded()) {
    return absl::InternalError(
        absl::StrCat("Query: HTTP ", r->status, " not JSON: ", r->body));
  }
  return j;
}

absl::Status SubgraphStandin::Stop() {
  if (node_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = node_->Terminate(absl::Seconds(5));
  node_.reset();
  return code.status();
}

}  // namespace niftysave::harness
