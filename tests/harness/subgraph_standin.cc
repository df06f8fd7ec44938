#include "tests/harness/subgraph_standin.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "tests/harness/net.h"

namespace niftysave::harness {

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
  absl::StatusOr<std::unique_ptr<ScriptServer>> server =
      ScriptServer::Start({.name = "SubgraphStandin",
                           .script = "subgraph_standin.js",
                           .args = {"--fixture", fixture},
                           .ready_path = "/_standin/requests"},
                          *std::move(dir));
  if (!server.ok()) return server.status();
  return std::unique_ptr<SubgraphStandin>(
      new SubgraphStandin(*std::move(server)));
}

SubgraphStandin::~SubgraphStandin() { (void)Stop(); }

std::string SubgraphStandin::url() const {
  return server_->url() + "/subgraphs/name/niftysave/eip721";
}

absl::Status SubgraphStandin::FailNext(int after, int times, int http_status) {
  return server_->Post("/_standin/fail",
                       {{"kind", http_status == 0 ? "graphql" : "http"},
                        {"status", http_status},
                        {"after", after},
                        {"times", times}});
}

absl::StatusOr<nlohmann::json> SubgraphStandin::Queries() {
  absl::StatusOr<nlohmann::json> j = server_->GetJson("/_standin/requests");
  if (!j.ok()) return j.status();
  if (!j->is_object() || !j->contains("queries")) {
    return absl::InternalError("Queries: bad JSON");
  }
  return (*j)["queries"];
}

absl::Status SubgraphStandin::SetTokenUri(const std::string& id,
                                          const nlohmann::json& uri) {
  return server_->Post("/_standin/token_uri", {{"id", id}, {"tokenURI", uri}});
}

absl::Status SubgraphStandin::Upsert(const nlohmann::json& rows) {
  if (!rows.is_array()) return absl::InvalidArgumentError("rows: not an array");
  return server_->Post("/_standin/tokens", {{"upsert", rows}});
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

absl::Status SubgraphStandin::Stop() { return server_->Stop(); }

}  // namespace niftysave::harness
