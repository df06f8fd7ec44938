#include "services/extractor/extractor_metrics.h"

#include <string>
#include <utility>

namespace niftysave::extractor {

ExtractorMetrics::ExtractorMetrics(Metrics& metrics)
    : fetch_(metrics.Counter(
          "cid_verifications_total",
          "IPFS gateway answers to a bare CID, by verification result")),
      tokens_(metrics.Counter("tokens_total",
                              "Tokens handled, by outcome and reason")),
      id_forms_(metrics.Counter(
          "erc1155_id_form_total",
          "ERC-1155 {id} metadata found, by form (hex: the spec's; decimal: "
          "the fallback)")),
      budget_waits_(
          metrics
              .Counter("budget_waits_total",
                       "Metadata bodies that outgrew the free byte budget "
                       "(--max_buffered_mb): each starts over once a whole "
                       "--max_metadata_bytes is free")
              .Add({})),
      notifications_(metrics, "pinner") {}

ExtractionObserver ExtractorMetrics::Observer(
    std::function<void(const std::vector<int64_t>&)> notify) {
  return {
      .finished =
          [this](const std::string& outcome, const std::string& reason) {
            tokens_.Add({{"outcome", outcome}, {"reason", reason}}).Increment();
          },
      .resources_queued = std::move(notify),
      .erc1155_id_form =
          [this](const std::string& form) {
            id_forms_.Add({{"form", form}}).Increment();
          },
      .budget_wait = [this] { budget_waits_.Increment(); }};
}

}  // namespace niftysave::extractor
