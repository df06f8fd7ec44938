#include "common/metrics/metrics.h"

#include "absl/strings/str_cat.h"

namespace niftysave {

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Start(
    const std::string& listen, absl::string_view service) {
  std::unique_ptr<Metrics> m(new Metrics());
  m->service_ = std::string(service);
  m->registry_ = std::make_shared<prometheus::Registry>();
  try {
    m->exposer_ = std::make_unique<prometheus::Exposer>(listen);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve /metrics on ", listen, ": ", e.what()));
  }
  m->exposer_->RegisterCollectable(m->registry_);
  std::vector<int> ports = m->exposer_->GetListeningPorts();
  m->port_ = ports.empty() ? 0 : ports.front();
  return m;
}

std::string Metrics::Name(absl::string_view what) const {
  return absl::StrCat("niftysave_", service_, "_", what);
}

prometheus::Family<prometheus::Counter>& Metrics::Counter(
    absl::string_view what, absl::string_view help) {
  return prometheus::BuildCounter()
      .Name(Name(what))
      .Help(std::string(help))
      .Register(*registry_);
}

prometheus::Family<prometheus::Gauge>& Metrics::Gauge(absl::string_view what,
                                                      absl::string_view help) {
  return prometheus::BuildGauge()
      .Name(Name(what))
      .Help(std::string(help))
      .Register(*registry_);
}

prometheus::Family<prometheus::Histogram>& Metrics::Histogram(
    absl::string_view what, absl::string_view help) {
  return prometheus::BuildHistogram()
      .Name(Name(what))
      .Help(std::string(help))
      .Register(*registry_);
}

const prometheus::Histogram::BucketBoundaries& Metrics::LatencyBuckets() {
  static const auto* kBuckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
      0.5,   1,      2.5,   5,    10,    30,   60};
  return *kBuckets;
}

}  // namespace niftysave
