#include "services/pinner/resource_pinner.h"

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/log.h"
#include "common/runtime/reason.h"
#include "common/uri/token_uri.h"

namespace niftysave::pinner {

ResourcePinner::ResourcePinner(PinnerRepository& repo,
                               const fetch::ContentFetcher& fetcher,
                               ipfs::PinBackend& backend, int batch_size,
                               PinObserver observer)
    : repo_(repo),
      fetcher_(fetcher),
      backend_(backend),
      batch_size_(batch_size),
      observer_(std::move(observer)) {}

int ResourcePinner::Step() {
  return db::HandleLeased(repo_.Lease(batch_size_),
                          [this](const db::QueueItem& item) { Handle(item); });
}

std::variant<ResourcePinner::Pinned, absl::Status> ResourcePinner::Pin(
    const ResourceToPin& r) {
  if (r.kind == "ipfs" && !r.cid.empty()) {
    absl::StatusOr<ipfs::PinReceipt> receipt = backend_.PinCid(r.cid);
    if (!receipt.ok()) return receipt.status();
    return Pinned{r.cid, receipt->request_id};
  }
  std::string bytes;
  if (r.stored_bytes) {
    bytes = *r.stored_bytes;
  } else {
    absl::StatusOr<fetch::FetchedContent> content =
        fetcher_.Fetch(uri::ResolveUri(r.normalized));
    if (!content.ok()) return content.status();
    bytes = std::move(content->bytes);
  }
  // Our own CID first: the backend must report exactly this one.
  absl::StatusOr<uri::Cid> expected = LocalCid(bytes);
  if (!expected.ok()) return expected.status();
  absl::StatusOr<std::string> cid =
      backend_.Upload(bytes, "resource-" + std::to_string(r.id));
  if (!cid.ok()) return cid.status();
  observer_.bytes_uploaded(bytes.size());
  absl::Status same = CheckSameCid(*expected, *cid);
  if (!same.ok()) return same;
  return Pinned{*cid, ""};
}

absl::StatusOr<uri::Cid> ResourcePinner::LocalCid(
    absl::string_view bytes) const {
  absl::StatusOr<ipfs::ImportProfile> profile =
      ipfs::ProfileByName(backend_.upload_profile());
  if (!profile.ok()) {
    return ErrorWithReason(absl::StatusCode::kInternal, "internal",
                           absl::StrCat("backend ", backend_.name(),
                                        " names an unknown import profile: ",
                                        profile.status().message()));
  }
  ipfs::UnixfsImporter importer(*std::move(profile), nullptr);
  absl::Status updated = importer.Update(bytes);
  if (!updated.ok()) return updated;
  return importer.Finish();
}

absl::Status CheckSameCid(const uri::Cid& expected,
                          const std::string& reported) {
  absl::StatusOr<uri::Cid> parsed = uri::ParseCid(reported);
  // v0 and v1 spellings of one dag-pb node are the same content.
  if (parsed.ok() && parsed->ToString() == expected.ToString()) {
    return absl::OkStatus();
  }
  return ErrorWithReason(
      absl::StatusCode::kDataLoss, "cid_mismatch",
      absl::StrCat("backend reported ", reported.substr(0, 120),
                   ", the bytes hash to ", ipfs::CidText(expected)));
}

void ResourcePinner::Handle(const db::QueueItem& item) {
  absl::StatusOr<std::optional<ResourceToPin>> resource =
      repo_.LoadResource(item.id);
  if (!resource.ok()) return;  // the lease runs out and the item comes back
  if (!resource->has_value() || (*resource)->status == "pinned") {
    (void)repo_.Drop(item);
    return;
  }
  auto result = Pin(**resource);
  absl::Status saved;
  if (auto* pinned = std::get_if<Pinned>(&result)) {
    absl::StatusOr<int64_t> pin_id = repo_.SavePinRequested(
        item, pinned->cid, backend_.name(), pinned->request_id);
    saved = pin_id.status();
    if (pin_id.ok()) {
      observer_.finished(backend_.name(), "requested", "");
      observer_.pins_requested({*pin_id});
    }
  } else {
    const absl::Status& error = std::get<absl::Status>(result);
    PinFailure failure{ReasonOf(error), std::string(error.message())};
    if (http::IsTemporary(error) && !repo_.IsLastAttempt(item)) {
      saved = repo_.Retry(item, failure);
      observer_.finished(backend_.name(), "retry", failure.reason);
    } else {
      saved = repo_.SaveFailure(item, failure);
      observer_.finished(backend_.name(), "failed", failure.reason);
    }
    log::Info("pin failed", {{"resource", std::to_string(item.id)},
                             {"reason", failure.reason},
                             {"detail", failure.detail}});
  }
  if (!saved.ok()) {
    log::Warn("cannot record pin", {{"resource", std::to_string(item.id)},
                                    {"error", std::string(saved.message())}});
  }
}

}  // namespace niftysave::pinner
