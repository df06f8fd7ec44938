#include "tests/harness/prometheus_server.h"

#include <cctype>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/harness/net.h"

namespace niftysave::harness {
namespace {

absl::Status Error(absl::string_view what, const absl::Status& cause) {
  return absl::Status(cause.code(), absl::StrCat("PrometheusServer: ", what,
                                                 ": ", cause.message()));
}

// application/x-www-form-urlencoded value.
std::string FormEncode(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

std::string Config(const PrometheusServer::Options& options) {
  const std::string interval =
      absl::StrCat(absl::ToInt64Milliseconds(options.scrape_interval), "ms");
  std::string yaml = absl::StrCat("global:\n  scrape_interval: ", interval,
                                  "\n  evaluation_interval: ", interval, "\n");
  if (!options.rule_files.empty()) {
    absl::StrAppend(&yaml, "rule_files:\n");
    for (const std::string& f : options.rule_files) {
      absl::StrAppend(&yaml, "  - '", f, "'\n");
    }
  }
  absl::StrAppend(&yaml, "scrape_configs:\n");
  for (const ScrapeTarget& t : options.targets) {
    absl::StrAppend(&yaml, "  - job_name: '", t.job,
                    "'\n    static_configs:\n      - targets: ['", t.address,
                    "']\n");
  }
  return yaml;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PrometheusServer>> PrometheusServer::Start(
    Options options) {
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-prometheus");
  if (!dir.ok()) return Error("temp dir", dir.status());
  const std::string config = dir->path() + "/prometheus.yml";
  {
    std::ofstream out(config);
    out << Config(options);
    out.close();
    if (!out)
      return absl::InternalError("PrometheusServer: cannot write " + config);
  }
  const int port = PickFreePort();
  std::unique_ptr<PrometheusServer> server(
      new PrometheusServer(std::move(*dir), port, options.targets.size()));
  const std::string& root = server->dir_.path();
  auto process =
      Subprocess::Start({"prometheus", "--config.file=" + config,
                         "--storage.tsdb.path=" + root + "/data",
                         absl::StrCat("--web.listen-address=127.0.0.1:", port),
                         "--log.level=warn"},
                        {}, root + "/prometheus.log");
  if (!process.ok()) return Error("start", process.status());
  server->process_ = std::move(*process);
  const std::string ready = server->url() + "/-/ready";
  absl::Status up =
      WaitUntilReady(*server->process_, "prometheus", absl::Seconds(30),
                     [&] { return CheckHttp(ready); });
  if (!up.ok()) return up;
  return server;
}

PrometheusServer::~PrometheusServer() {
  if (process_ != nullptr) (void)process_->Terminate(absl::Seconds(10));
}

std::string PrometheusServer::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

absl::StatusOr<std::string> PrometheusServer::Api(const std::string& path,
                                                  const std::string& form) {
  absl::StatusOr<HttpResponse> response =
      Fetch({.method = form.empty() ? "GET" : "POST",
             .url = url() + path,
             .body = form,
             .headers = {"Content-Type: application/x-www-form-urlencoded"},
             .timeout = absl::Seconds(20)});
  if (!response.ok()) return response.status();
  nlohmann::json reply = nlohmann::json::parse(response->body, nullptr, false);
  if (!reply.is_object()) {
    return absl::InternalError(
        absl::StrCat(path, ": HTTP ", response->status, ": ", response->body));
  }
  if (reply.value("status", "") != "success") {
    // 400 bad_data is a parse error; 422 execution is an evaluation error.
    return absl::InvalidArgumentError(
        absl::StrCat(reply.value("errorType", "error"), ": ",
                     reply.value("error", response->body)));
  }
  return reply["data"].dump();
}

absl::StatusOr<PrometheusServer::QueryResult> PrometheusServer::Query(
    const std::string& promql) {
  absl::StatusOr<std::string> data =
      Api("/api/v1/query", "query=" + FormEncode(promql));
  if (!data.ok()) return data.status();
  nlohmann::json parsed = nlohmann::json::parse(*data);
  QueryResult result;
  result.result_type = parsed.value("resultType", "");
  result.json = *data;
  const nlohmann::json& r = parsed["result"];
  if (result.result_type == "vector" || result.result_type == "matrix") {
    result.series = r.size();
  } else {
    result.series = r.is_null() ? 0 : 1;
  }
  return result;
}

absl::Status PrometheusServer::WaitForScrapes(int scrapes,
                                              absl::Duration timeout) {
  // Successful scrapes per target in the whole history kept.
  const std::string query = "sum_over_time(up[1h])";
  const absl::Time deadline = absl::Now() + timeout;
  std::string last;
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> data =
        Api("/api/v1/query", "query=" + FormEncode(query));
    if (data.ok()) {
      last = *data;
      nlohmann::json parsed = nlohmann::json::parse(*data);
      size_t ready = 0;
      for (const nlohmann::json& s : parsed["result"]) {
        if (std::stod(s["value"][1].get<std::string>()) >= scrapes) ++ready;
      }
      if (ready >= targets_) return absl::OkStatus();
    } else {
      last = data.status().ToString();
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("PrometheusServer: fewer than ", scrapes,
                   " successful scrapes of every target: ", last));
}

absl::StatusOr<std::string> PrometheusServer::Rules() {
  return Api("/api/v1/rules", "");
}

absl::StatusOr<std::string> PrometheusServer::Metadata() {
  return Api("/api/v1/metadata", "");
}

}  // namespace niftysave::harness
