// The dashboards and alert rules against a real Prometheus scraping a real
// pipeline run (Postgres, anvil, js-ipfs, the HTTPS fixture server and the
// four service binaries, as in the end-to-end test): every PromQL expression
// must parse, and every dashboard expression must return series.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/grpc/grpc_server.h"
#include "gtest/gtest.h"
#include "niftysave/v1/indexer.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/harness/prometheus_server.h"
#include "tests/harness/subprocess.h"
#include "tests/integration/local_pipeline.h"

namespace niftysave::pipeline {
namespace {

constexpr char kDashboard[] =
    NIFTYSAVE_SOURCE_DIR "/deploy/grafana/dashboards/niftysave.json";
constexpr char kAlerts[] = NIFTYSAVE_SOURCE_DIR "/deploy/prometheus/alerts.yml";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every "expr" in the dashboard, rows and nested panels included.
void CollectExprs(const nlohmann::json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "expr" && value.is_string()) {
        out.push_back(value.get<std::string>());
      } else {
        CollectExprs(value, out);
      }
    }
  } else if (node.is_array()) {
    for (const auto& v : node) CollectExprs(v, out);
  }
}

// Grafana's interval variables, as the dashboard would send them with a
// short range selected.
std::string ExpandGrafanaVariables(std::string expr) {
  return absl::StrReplaceAll(expr, {{"${__rate_interval}", "1m"},
                                    {"$__rate_interval", "1m"},
                                    {"${__interval}", "1m"},
                                    {"$__interval", "1m"},
                                    {"${__range}", "1m"},
                                    {"$__range", "1m"}});
}

// The rule file as JSON (Python's yaml, Debian python3-yaml).
absl::StatusOr<nlohmann::json> LoadRules() {
  auto out = harness::RunCommand(
      {"/usr/bin/python3", "-c",
       "import json, sys, yaml; "
       "print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
       kAlerts},
      absl::Seconds(20));
  if (!out.ok()) return out.status();
  return nlohmann::json::parse(*out);
}

// Metric names a set of expressions refers to literally (regex matchers on
// __name__ excepted), without the histogram suffixes.
std::set<std::string> MetricNames(const std::vector<std::string>& exprs) {
  static const std::regex kName("niftysave_[a-z_]*[a-z](?![a-z_.(|])");
  std::set<std::string> names;
  for (const std::string& e : exprs) {
    for (auto it = std::sregex_iterator(e.begin(), e.end(), kName);
         it != std::sregex_iterator(); ++it) {
      std::string name = it->str();
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (absl::EndsWith(name, suffix))
          name.resize(name.size() - std::string(suffix).size());
      }
      names.insert(name);
    }
  }
  return names;
}

// True if niftysave_<service>_<what> is registered as "<what>" in the
// service's folder or in common/ (families every service shares).
bool RegisteredInSource(const std::string& name) {
  const std::vector<std::string> parts = absl::StrSplit(name, '_');
  if (parts.size() < 3) return false;
  const std::string service = parts[1];
  const std::string what =
      "\"" +
      name.substr(std::string("niftysave_").size() + service.size() + 1) + "\"";
  for (const std::string& dir :
       {"/services/" + service, std::string("/common")}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(
             NIFTYSAVE_SOURCE_DIR + dir)) {
      if (entry.path().extension() == ".cc" &&
          absl::StrContains(ReadFile(entry.path().string()), what))
        return true;
    }
  }
  return false;
}

TEST(ObservabilityTest, DashboardAndAlertQueriesWorkOnARealScrape) {
  auto pipeline = LocalPipeline::Start({});
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  LocalPipeline& p = **pipeline;
  ASSERT_TRUE(p.StartAllServices().ok());

  // Job names as the ServiceMonitor sets them (the Kubernetes Service names).
  std::vector<harness::ScrapeTarget> targets;
  for (const char* service : LocalPipeline::kServices) {
    targets.push_back({absl::StrCat("niftysave-", service),
                       absl::StrCat("127.0.0.1:", p.metrics_port(service))});
  }
  // Prometheus loads the rule file itself: it refuses to start on a rule
  // that does not parse, and evaluates every rule each second.
  auto prometheus = harness::PrometheusServer::Start(
      {.targets = targets, .rule_files = {kAlerts}});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();
  harness::PrometheusServer& prom = **prometheus;

  auto tokens = p.SeedDemoCollection();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_TRUE(p.WaitUntilSettled(*tokens, absl::Seconds(120)).ok());
  // The indexer serves only the status query: ask it once so every service
  // has gRPC series.
  auto indexer = v1::Indexer::NewStub(MakeChannel(p.grpc_addr("indexer"), {}));
  grpc::ClientContext context;
  v1::IndexerStatus status;
  ASSERT_TRUE(
      indexer->GetStatus(&context, v1::GetIndexerStatusRequest(), &status)
          .ok());
  // A few scrapes after the last counter moved.
  ASSERT_TRUE(prom.WaitForScrapes(5, absl::Seconds(30)).ok());
  absl::SleepFor(absl::Seconds(3));

  // Dashboard: every expression parses and returns at least one series.
  std::vector<std::string> dashboard;
  CollectExprs(nlohmann::json::parse(ReadFile(kDashboard)), dashboard);
  ASSERT_GE(dashboard.size(), 10u);
  for (const std::string& raw : dashboard) {
    const std::string expr = ExpandGrafanaVariables(raw);
    SCOPED_TRACE(expr);
    EXPECT_EQ(expr.find('$'), std::string::npos) << "unexpanded variable";
    auto result = prom.Query(expr);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_GE(result->series, 1u) << result->json;
  }

  // Alert rules: every expression parses and evaluates; Prometheus reports
  // each loaded rule healthy.
  auto rules = LoadRules();
  ASSERT_TRUE(rules.ok()) << rules.status();
  std::vector<std::string> alerts;
  for (const auto& group : (*rules)["groups"]) {
    for (const auto& rule : group["rules"]) {
      alerts.push_back(rule["expr"].get<std::string>());
    }
  }
  ASSERT_GE(alerts.size(), 5u);
  for (const std::string& expr : alerts) {
    SCOPED_TRACE(expr);
    auto result = prom.Query(expr);
    EXPECT_TRUE(result.ok()) << result.status();
  }
  auto loaded = prom.Rules();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  size_t healthy = 0;
  const nlohmann::json loaded_rules = nlohmann::json::parse(*loaded);
  for (const auto& group : loaded_rules["groups"]) {
    for (const auto& rule : group["rules"]) {
      EXPECT_EQ(rule["health"], "ok") << rule.dump();
      if (rule["health"] == "ok") ++healthy;
    }
  }
  EXPECT_EQ(healthy, alerts.size());

  // Every metric name the files spell out is a family a service exports (a
  // typo would parse and silently never match): scraped, or - for a family
  // with no series yet, which prometheus-cpp does not expose (no malformed
  // log seen) - registered in the service's source.
  std::vector<std::string> all = dashboard;
  all.insert(all.end(), alerts.begin(), alerts.end());
  auto metadata = prom.Metadata();
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  const nlohmann::json families = nlohmann::json::parse(*metadata);
  for (const std::string& name : MetricNames(all)) {
    EXPECT_TRUE(families.contains(name) || RegisteredInSource(name))
        << name << " is not exported; exported: " << *metadata;
  }

  ASSERT_TRUE(p.StopAllServices().ok());
}

}  // namespace
}  // namespace niftysave::pipeline
