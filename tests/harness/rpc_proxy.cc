#include "tests/harness/rpc_proxy.h"

#include "absl/strings/str_cat.h"
#include "tests/harness/net.h"

namespace niftysave::harness {
namespace {

constexpr char kScript[] = NIFTYSAVE_SOURCE_DIR "/tests/harness/rpc_proxy.js";

}  // namespace

absl::StatusOr<std::unique_ptr<RpcProxy>> RpcProxy::Start(
    std::string upstream) {
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-rpcproxy");
  if (!dir.ok()) return dir.status();
  const int port = PickFreePort();
  std::unique_ptr<RpcProxy> proxy(new RpcProxy(*std::move(dir), port));
  absl::StatusOr<std::unique_ptr<Subprocess>> node = Subprocess::Start(
      {"node", kScript, "--port", absl::StrCat(port), "--upstream", upstream},
      {}, proxy->dir_.path() + "/proxy.log");
  if (!node.ok()) return node.status();
  proxy->node_ = *std::move(node);
  const std::string probe = proxy->url() + "/_proxy/stats";
  absl::Status ready =
      WaitUntilReady(*proxy->node_, "RpcProxy", absl::Seconds(30),
                     [&] { return CheckHttp(probe); });
  if (!ready.ok()) return ready;
  return proxy;
}

RpcProxy::~RpcProxy() { (void)Stop(); }

std::string RpcProxy::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

std::string RpcProxy::DeadUrl() {
  return absl::StrCat("http://127.0.0.1:", PickFreePort());
}

absl::Status RpcProxy::Control(const std::string& path,
                               const nlohmann::json& body) {
  absl::StatusOr<HttpResponse> r =
      Fetch({.method = "POST",
             .url = url() + path,
             .body = body.dump(),
             .headers = {"Content-Type: application/json"}});
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::InternalError(
        absl::StrCat("RpcProxy ", path, ": HTTP ", r->status, " ", r->body));
  }
  return absl::OkStatus();
}

absl::Status RpcProxy::AddFault(const Fault& fault) {
  nlohmann::json rule = {
      {"kind", fault.kind},     {"times", fault.times},
      {"status", fault.status}, {"retry_after", fault.retry_after},
      {"code", fault.code},     {"delay_ms", fault.delay_ms}};
  if (fault.method) rule["method"] = *fault.method;
  if (fault.batch) rule["batch"] = *fault.batch;
  if (fault.min_span) rule["min_span"] = *fault.min_span;
  if (fault.probability) {
    rule["probability"] = *fault.probability;
    rule["seed"] = fault.seed;
  }
  if (!fault.message.empty()) rule["message"] = fault.message;
  return Control("/_proxy/fault", rule);
}

absl::Status RpcProxy::ClearFaults() {
  return Control("/_proxy/clear", nlohmann::json::object());
}

absl::Status RpcProxy::ResetStats() {
  return Control("/_proxy/reset", nlohmann::json::object());
}

absl::StatusOr<RpcProxy::Stats> RpcProxy::GetStats() {
  absl::StatusOr<HttpResponse> r = Fetch({.url = url() + "/_proxy/stats"});
  if (!r.ok()) return r.status();
  nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object()) return absl::InternalError("RpcProxy stats: bad JSON");
  Stats stats;
  if (j.contains("requests") && j["requests"].is_number_integer()) {
    stats.requests = j["requests"].get<int64_t>();
  }
  auto counts = [&](const char* key, std::map<std::string, int64_t>& out) {
    if (!j.contains(key) || !j[key].is_object()) return;
    for (auto it = j[key].begin(); it != j[key].end(); ++it) {
      if (it.value().is_number_integer()) out[it.key()] = it.value();
    }
  };
  counts("methods", stats.calls);
  counts("faults", stats.faults);
  if (j.contains("log") && j["log"].is_array()) {
    for (const nlohmann::json& e : j["log"]) {
      LogEntry entry;
      if (e.contains("t") && e["t"].is_number()) entry.t_ms = e["t"];
      if (e.contains("methods") && e["methods"].is_array()) {
        for (const nlohmann::json& m : e["methods"]) {
          entry.methods.push_back(m.is_string() ? m.get<std::string>() : "?");
        }
      }
      if (e.contains("span") && e["span"].is_array() && e["span"].size() == 2) {
        entry.span = {e["span"][0].get<uint64_t>(),
                      e["span"][1].get<uint64_t>()};
      }
      if (e.contains("fault") && e["fault"].is_string()) {
        entry.fault = e["fault"].get<std::string>();
      }
      stats.log.push_back(std::move(entry));
    }
  }
  return stats;
}

absl::Status RpcProxy::Stop() {
  if (node_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = node_->Terminate(absl::Seconds(5));
  node_.reset();
  return code.status();
}

}  // namespace niftysave::harness
