#include "services/extractor/extraction_worker.h"

#include "absl/strings/str_join.h"
#include "common/runtime/log.h"

namespace niftysave::extractor {

ExtractionWorker::ExtractionWorker(ExtractorRepository& repo,
                                   const MetadataExtractor& extractor,
                                   int batch_size, ExtractionObserver observer)
    : repo_(repo),
      extractor_(extractor),
      batch_size_(batch_size),
      observer_(std::move(observer)) {}

int ExtractionWorker::Step() {
  return db::HandleLeased(repo_.Lease(batch_size_),
                          [this](const db::QueueItem& item) { Handle(item); });
}

void ExtractionWorker::Handle(const db::QueueItem& item) {
  absl::StatusOr<std::optional<TokenToExtract>> token =
      repo_.LoadToken(item.id);
  if (!token.ok()) {
    log::Warn("cannot load token",
              {{"token_pk", std::to_string(item.id)},
               {"error", std::string(token.status().message())}});
    return;  // the lease runs out and the item comes back
  }
  if (!token->has_value() || !(*token)->token_uri) {
    (void)repo_.Drop(item);
    return;
  }
  const std::string& token_uri = *(*token)->token_uri;
  auto result = extractor_.Extract(token_uri, (*token)->token_id);
  absl::Status saved;
  if (auto* x = std::get_if<Extraction>(&result)) {
    absl::StatusOr<std::vector<int64_t>> queued =
        repo_.SaveExtraction(item, *x);
    saved = queued.status();
    if (queued.ok()) {
      observer_.finished("extracted", "");
      observer_.resources_queued(*queued);
      if (!x->id_form.empty()) observer_.erc1155_id_form(x->id_form);
    }
    if (x->id_form == "decimal") {
      log::Info("erc1155 {id} found in decimal form, not the spec's hex",
                {{"token_pk", std::to_string(item.id)},
                 {"uri", x->metadata_uri.normalized.substr(0, 200)}});
    }
    if (!x->leniency.empty()) {
      log::Info("metadata parsed leniently",
                {{"token_pk", std::to_string(item.id)},
                 {"fixups", absl::StrJoin(x->leniency, ",")}});
    }
  } else {
    const auto& failure = std::get<ExtractionFailure>(result);
    if (failure.temporary && !repo_.IsLastAttempt(item)) {
      saved = repo_.Retry(item, failure);
      observer_.finished("retry", failure.reason);
    } else {
      saved = repo_.SaveFailure(item, failure, token_uri);
      observer_.finished("failed", failure.reason);
    }
    log::Info("extraction failed",
              {{"token_pk", std::to_string(item.id)},
               {"reason", failure.reason},
               {"detail", failure.detail},
               {"temporary", failure.temporary ? "true" : "false"}});
  }
  if (!saved.ok()) {
    log::Warn("cannot record extraction",
              {{"token_pk", std::to_string(item.id)},
               {"error", std::string(saved.message())}});
  }
}

}  // namespace niftysave::extractor
