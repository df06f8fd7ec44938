#pragma once

#include <functional>
#include <string>
#include <vector>

#include "services/extractor/extractor_repository.h"
#include "services/extractor/metadata_extractor.h"

namespace niftysave::extractor {

struct ExtractionObserver {
  std::function<void(const std::string& outcome, const std::string& reason)>
      finished = [](const std::string&, const std::string&) {};
  std::function<void(const std::vector<int64_t>&)> resources_queued =
      [](const std::vector<int64_t>&) {};
  // Which form of an ERC-1155 `{id}` template was found ("hex", "decimal").
  std::function<void(const std::string& form)> erc1155_id_form =
      [](const std::string&) {};
};

// One worker step: lease a batch from the 'extract' queue, extract each
// token, record the outcome (or reschedule a temporary failure).
class ExtractionWorker {
 public:
  ExtractionWorker(ExtractorRepository& repo,
                   const MetadataExtractor& extractor, int batch_size,
                   ExtractionObserver observer);
  // Returns the number of items handled.
  int Step();

 private:
  void Handle(const db::QueueItem& item);

  ExtractorRepository& repo_;
  const MetadataExtractor& extractor_;
  const int batch_size_;
  const ExtractionObserver observer_;
};

}  // namespace niftysave::extractor
