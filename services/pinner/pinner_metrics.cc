#include "services/pinner/pinner_metrics.h"

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace niftysave::pinner {
namespace {

// Uploads take from milliseconds (stored metadata) to minutes (large assets).
const prometheus::Histogram::BucketBoundaries& UploadBuckets() {
  static const auto* const buckets =
      new prometheus::Histogram::BucketBoundaries{
          0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
  return *buckets;
}

}  // namespace

PinnerMetrics::PinnerMetrics(Metrics& metrics)
    : fetch_(metrics.Counter(
          "cid_verifications_total",
          "IPFS gateway answers to a bare CID, by verification result")),
      outcomes_(metrics.Counter(
          "pins_total", "Pin requests, by backend, outcome and reason")),
      uploaded_(
          metrics
              .Counter("uploaded_bytes_total", "Bytes uploaded to pin backends")
              .Add({})),
      bytes_(metrics.Counter(
          "bytes_total", "Asset bytes by stage: downloaded, hashed, uploaded")),
      upload_seconds_(metrics.Histogram("upload_duration_seconds",
                                        "Time of one upload, by backend")),
      under_replicated_(metrics.Counter(
          "under_replicated_total",
          "Resources left with fewer than --replication pins, by reason")),
      notifications_(metrics, "tracker") {}

PinObserver PinnerMetrics::Observer() {
  return PinObserver{
      .finished =
          [this](const std::string& backend, const std::string& outcome,
                 const std::string& reason) {
            outcomes_
                .Add({{"backend", backend},
                      {"outcome", outcome},
                      {"reason", reason}})
                .Increment();
          },
      .bytes =
          [this](const std::string& stage, uint64_t n) {
            bytes_.Add({{"stage", stage}}).Increment(static_cast<double>(n));
            if (stage == "uploaded") {
              uploaded_.Increment(static_cast<double>(n));
            }
          },
      .upload_time =
          [this](const std::string& backend, absl::Duration d) {
            upload_seconds_.Add({{"backend", backend}}, UploadBuckets())
                .Observe(absl::ToDoubleSeconds(d));
          },
      .under_replicated =
          [this](const std::string& reason) {
            under_replicated_.Add({{"reason", reason}}).Increment();
          }};
}

}  // namespace niftysave::pinner
