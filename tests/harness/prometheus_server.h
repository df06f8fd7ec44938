#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::harness {

// One scrape job: `job` becomes the series' job label, as a ServiceMonitor
// would set it from the Kubernetes Service name.
struct ScrapeTarget {
  std::string job;      // "niftysave-indexer"
  std::string address;  // "127.0.0.1:9461"
};

// A real Prometheus (Debian `prometheus`) on a free 127.0.0.1 port with a
// fresh TSDB in a temp dir, scraping `targets` every `scrape_interval` and
// loading `rule_files` (it refuses to start if one does not parse).
class PrometheusServer {
 public:
  struct Options {
    std::vector<ScrapeTarget> targets{};
    std::vector<std::string> rule_files{};
    absl::Duration scrape_interval = absl::Seconds(1);
  };
  static absl::StatusOr<std::unique_ptr<PrometheusServer>> Start(
      Options options);
  static absl::StatusOr<std::unique_ptr<PrometheusServer>> Start(
      std::vector<ScrapeTarget> targets) {
    return Start(Options{.targets = std::move(targets)});
  }
  ~PrometheusServer();

  // The answer to an instant query (/api/v1/query).
  struct QueryResult {
    std::string result_type;  // "vector", "scalar", "matrix" or "string"
    size_t series = 0;        // vector/matrix: series returned; scalar: 1
    std::string json;         // the "data" object, for error messages
  };
  // InvalidArgument (with Prometheus' message) when the expression does not
  // parse or cannot be evaluated.
  absl::StatusOr<QueryResult> Query(const std::string& promql);

  // Waits until every target has been scraped successfully at least
  // `scrapes` times.
  absl::Status WaitForScrapes(int scrapes, absl::Duration timeout);

  // The "data" of /api/v1/rules (each rule group with its rules' health).
  absl::StatusOr<std::string> Rules();
  // The "data" of /api/v1/metadata: {"<metric>": [{type, help, unit}]} for
  // every family the targets expose, with or without samples.
  absl::StatusOr<std::string> Metadata();

  std::string url() const;  // http://127.0.0.1:P
  const std::string& log_path() const { return process_->log_path(); }

 private:
  PrometheusServer(TempDir dir, int port, size_t targets)
      : dir_(std::move(dir)), port_(port), targets_(targets) {}
  absl::StatusOr<std::string> Api(const std::string& path,
                                  const std::string& form);

  TempDir dir_;  // prometheus.yml, data/, prometheus.log
  int port_;
  size_t targets_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace niftysave::harness
