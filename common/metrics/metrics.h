#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace niftysave {

// One registry and one exposer per process. Metric names follow
// niftysave_<service>_<what>_<unit>; Name() builds them so every family of a
// service carries its prefix.
class Metrics {
 public:
  // Serves /metrics on `listen` ("127.0.0.1:9464"; port 0 picks one).
  static absl::StatusOr<std::unique_ptr<Metrics>> Start(
      const std::string& listen, absl::string_view service);

  prometheus::Registry& registry() { return *registry_; }
  int port() const { return port_; }
  const std::string& service() const { return service_; }

  // "niftysave_" + service + "_" + what.
  std::string Name(absl::string_view what) const;

  prometheus::Family<prometheus::Counter>& Counter(absl::string_view what,
                                                   absl::string_view help);
  prometheus::Family<prometheus::Gauge>& Gauge(absl::string_view what,
                                               absl::string_view help);
  prometheus::Family<prometheus::Histogram>& Histogram(absl::string_view what,
                                                       absl::string_view help);

  // Buckets for durations from 1 ms to ~1 min.
  static const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

 private:
  Metrics() = default;
  std::string service_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace niftysave
