#include "services/pinner/resource_pinner.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/fetch/cid_verifier.h"
#include "common/http/http_client.h"
#include "common/ipfs/dag_walk.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/log.h"
#include "common/runtime/reason.h"
#include "common/uri/token_uri.h"

namespace niftysave::pinner {
namespace {

// Removes the file when it goes out of scope, whatever happened.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;

 private:
  std::string path_;
};

void NoteFailure(const absl::Status& error, std::optional<absl::Status>& first,
                 std::optional<absl::Duration>& retry_after) {
  if (!first) first = error;
  if (std::optional<absl::Duration> d = RetryAfterOf(error)) {
    retry_after = retry_after ? std::max(*retry_after, *d) : *d;
  }
}

}  // namespace

ResourcePinner::ResourcePinner(PinnerRepository& repo,
                               const fetch::ContentFetcher& fetcher,
                               ipfs::BlockSource blocks,
                               std::vector<ipfs::PinBackend*> backends,
                               PinnerOptions options, PinObserver observer)
    : repo_(repo),
      fetcher_(fetcher),
      blocks_(std::move(blocks)),
      backends_(std::move(backends)),
      options_(std::move(options)),
      observer_(std::move(observer)),
      host_slots_(options_.max_per_host) {}

int ResourcePinner::Step() {
  const std::vector<db::QueueItem> leased =
      db::LeasedOrLogged(repo_.Lease(options_.batch_size), "resources to pin");
  if (leased.empty()) return 0;
  // The batch's records in one query; when it fails the leases run out and
  // the items come back.
  absl::StatusOr<std::map<int64_t, ResourceToPin>> resources =
      repo_.LoadResources(db::IdsOf(leased));
  if (!resources.ok()) {
    log::Warn("cannot load resources to pin",
              {{"error", std::string(resources.status().message())}});
    return 0;
  }
  Batch batch;
  for (const db::QueueItem& item : leased) {
    auto it = resources->find(item.id);
    Handle(item, it == resources->end() ? nullptr : &it->second, batch);
    // Progress: the renewal window bounds one resource, not the batch.
    repo_.KeepHolding(leased);
  }
  Record(batch);
  return static_cast<int>(leased.size());
}

std::string ResourcePinner::TempPath(int64_t resource_id) const {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat(options_.tmp_dir, "/niftysave-pin-", ::getpid(), "-",
                      counter.fetch_add(1), "-", resource_id);
}

absl::StatusOr<PinClaim> ResourcePinner::Claim(const db::QueueItem& item,
                                               const std::string& cid,
                                               const std::string& backend) {
  absl::StatusOr<PinClaim> claim = repo_.ClaimPin(item, cid, backend);
  if (!claim.ok() || *claim != PinClaim::kBusy || !repo_.IsLastAttempt(item)) {
    return claim;
  }
  // Retrying later would fail the resource for good although the other
  // lease's request may well succeed: wait for it (the holder records its
  // pin, refuses, or loses its lease) within a backend call's time.
  const absl::Time deadline = absl::Now() + options_.claim_wait;
  while (claim.ok() && *claim == PinClaim::kBusy && absl::Now() < deadline) {
    absl::SleepFor(options_.claim_poll);
    claim = repo_.ClaimPin(item, cid, backend);
  }
  return claim;
}

absl::StatusOr<ResourcePinner::Outcome> ResourcePinner::Replicate(
    const db::QueueItem& item, Batch& batch,
    const std::function<absl::StatusOr<std::string>(ipfs::PinBackend&)>&
        cid_for,
    const std::function<absl::StatusOr<std::pair<std::string, std::string>>(
        ipfs::PinBackend&, const std::string& cid)>& request) {
  Outcome out;
  // Each backend's CID (uploads: per import profile). A live pin already
  // recorded for it (a retried or replayed request) is found by the claim,
  // so no backend is asked for a second one.
  std::vector<absl::StatusOr<std::string>> cids;
  for (ipfs::PinBackend* backend : backends_) {
    cids.push_back(cid_for(*backend));
  }
  const int wanted =
      std::min<int>(options_.replication, static_cast<int>(backends_.size()));
  for (size_t i = 0; i < backends_.size() && out.pins < wanted; ++i) {
    ipfs::PinBackend& backend = *backends_[i];
    const std::string name = backend.name();
    if (!cids[i].ok()) {  // cannot compute what it would hold: skip it
      observer_.finished(name, "failed", ReasonOf(cids[i].status()));
      NoteFailure(cids[i].status(), out.permanent, out.retry_after);
      continue;
    }
    const std::string& cid = *cids[i];
    if (auto accepted = batch.accepted.find({cid, name});
        accepted != batch.accepted.end()) {
      // Accepted for an earlier resource of this batch and recorded with
      // the batch (with this one too, should that one's record fail).
      observer_.finished(name, "exists", "");
      out.unsaved.push_back({cid, name, accepted->second});
      ++out.pins;
      if (out.primary_cid.empty()) out.primary_cid = cid;
      continue;
    }
    absl::StatusOr<PinClaim> claim = Claim(item, cid, name);
    if (!claim.ok()) {
      // What the backends before it accepted is recorded first.
      (void)SaveNewPins(out);
      return claim.status();
    }
    if (*claim == PinClaim::kPinned) {
      observer_.finished(name, "exists", "");
      ++out.pins;
      if (out.primary_cid.empty()) out.primary_cid = cid;
      continue;
    }
    if (*claim == PinClaim::kBusy) {
      // Another lease is asking this backend for the CID right now: a
      // second request would be a second pin. Try again once it recorded.
      observer_.finished(name, "retry", "pin_in_flight");
      NoteFailure(
          ErrorWithReason(absl::StatusCode::kUnavailable, "pin_in_flight",
                          absl::StrCat(name, " is being asked for ", cid,
                                       " under another lease")),
          out.temporary, out.retry_after);
      continue;
    }
    absl::StatusOr<std::pair<std::string, std::string>> pinned =
        request(backend, cid);
    if (!pinned.ok()) {
      // Let the next claimer try at once (a failed claim release only
      // delays it until this lease is gone).
      (void)repo_.ReleasePin(item, cid, name);
      const absl::Status& error = pinned.status();
      const bool temporary = http::IsTemporary(error);
      observer_.finished(name, temporary ? "retry" : "failed", ReasonOf(error));
      NoteFailure(error, temporary ? out.temporary : out.permanent,
                  out.retry_after);
      log::Info("backend refused pin",
                {{"backend", name},
                 {"cid", cid},
                 {"reason", ReasonOf(error)},
                 {"detail", std::string(error.message())}});
      continue;
    }
    // Recorded with the batch's outcomes (Record): one transaction a batch
    // instead of one a resource.
    out.unsaved.push_back({pinned->first, name, pinned->second});
    batch.accepted.emplace(std::make_pair(cid, name), pinned->second);
    observer_.finished(name, "requested", "");
    ++out.pins;
    if (out.primary_cid.empty()) out.primary_cid = pinned->first;
  }
  return out;
}

absl::Status ResourcePinner::SaveNewPins(Outcome& out) {
  for (size_t i = 0; i < out.unsaved.size(); ++i) {
    const NewPin& p = out.unsaved[i];
    absl::StatusOr<int64_t> id = repo_.SavePin(p.cid, p.backend, p.request_id);
    if (!id.ok()) {
      out.unsaved.erase(out.unsaved.begin(), out.unsaved.begin() + i);
      return id.status();
    }
    out.new_pin_ids.push_back(*id);
  }
  out.unsaved.clear();
  return absl::OkStatus();
}

absl::StatusOr<ResourcePinner::Outcome> ResourcePinner::Pin(
    const db::QueueItem& item, const ResourceToPin& r, Batch& batch) {
  if (r.kind == "ipfs" && !r.cid.empty()) {
    // Before anything is pinned: the path must exist under the root, and
    // what is pinned must fit max_pin_bytes (the root, or only what the
    // path names when the root is a huge directory).
    absl::StatusOr<uri::Cid> root = uri::ParseCid(r.cid);
    if (!root.ok()) {
      return ErrorWithReason(absl::StatusCode::kInvalidArgument, "uri_invalid",
                             root.status().message());
    }
    absl::StatusOr<ipfs::CidPinPlan> plan =
        ipfs::PlanCidPin(blocks_, *root, r.path, options_.max_pin_bytes);
    if (!plan.ok()) return plan.status();
    if (!plan->whole_root) {
      log::Info("root over --max_pin_bytes: pinning only what the path names",
                {{"resource", std::to_string(r.id)},
                 {"root", r.cid},
                 {"cid", plan->cid},
                 {"bytes", std::to_string(plan->bytes)}});
    }
    return Replicate(
        item, batch,
        // The root keeps the text it was recorded with.
        [&](ipfs::PinBackend&) -> absl::StatusOr<std::string> {
          return plan->whole_root ? r.cid : plan->cid;
        },
        [&](ipfs::PinBackend& backend, const std::string& cid)
            -> absl::StatusOr<std::pair<std::string, std::string>> {
          absl::StatusOr<ipfs::PinReceipt> receipt = backend.PinCid(cid);
          if (!receipt.ok()) return receipt.status();
          return std::make_pair(cid, receipt->request_id);
        });
  }

  Content content;
  std::optional<TempFileGuard> guard;
  absl::StatusOr<fetch::FetchedFile> file;
  if (r.stored_bytes) {
    content.bytes = &*r.stored_bytes;
    content.size = r.stored_bytes->size();
  } else {
    // Kept in memory when small, otherwise streamed to disk and never held
    // whole. A failed fetch leaves no file; a file made is removed by the
    // guard on every path out of here (none to remove for one in memory).
    {
      http::HostSlots::Slot slot = host_slots_.Acquire(r.normalized);
      file = fetcher_.FetchToFile(uri::ResolveUri(r.normalized), TempPath(r.id),
                                  options_.download_memory_bytes);
    }
    if (!file.ok()) return file.status();
    if (file->path.empty()) {
      content.bytes = &file->bytes;
    } else {
      guard.emplace(file->path);
      content.file = file->path;
    }
    content.size = file->size;
    observer_.bytes("downloaded", content.size);
  }
  if (!r.expected_sha256.empty()) {
    // The extractor checked these bytes against the token's on-chain hash;
    // the server may serve others by now, which must not be archived as
    // the token's content. A SHA-256 is a raw CID's digest, so the
    // fetcher's CID check (streamed for a file) does the comparison.
    const std::string raw_cid =
        uri::Cid::FromDigest(1, uri::kCodecRaw, uri::kHashSha2_256,
                             absl::HexStringToBytes(r.expected_sha256))
            .ToString();
    absl::StatusOr<fetch::CidVerification> checked =
        content.bytes != nullptr
            ? fetch::CheckAgainstCid(raw_cid, *content.bytes)
            : fetch::CheckFileAgainstCid(raw_cid, content.file);
    if (!checked.ok() && ReasonOf(checked.status()) == "cid_mismatch") {
      return ErrorWithReason(
          absl::StatusCode::kDataLoss, "hash_mismatch",
          absl::StrCat("the bytes fetched to pin do not match the sha256 ",
                       r.expected_sha256,
                       " the token committed to on chain (the extractor's "
                       "fetch matched it)"));
    }
    if (!checked.ok()) return checked.status();
    if (*checked != fetch::CidVerification::kVerified) {
      return ErrorWithReason(absl::StatusCode::kInternal, "internal",
                             "the sha256 of the fetched bytes could not be "
                             "computed");
    }
  }

  // Our own CID first, per import profile: the backend must report exactly
  // this one.
  std::map<std::string, absl::StatusOr<uri::Cid>> local;
  auto expected_for =
      [&](ipfs::PinBackend& backend) -> const absl::StatusOr<uri::Cid>& {
    const std::string profile = backend.upload_profile();
    auto it = local.find(profile);
    if (it == local.end()) {
      it = local.emplace(profile, LocalCid(content, profile)).first;
    }
    return it->second;
  };
  const std::string filename = "resource-" + std::to_string(r.id);
  return Replicate(
      item, batch,
      [&](ipfs::PinBackend& backend) -> absl::StatusOr<std::string> {
        const absl::StatusOr<uri::Cid>& cid = expected_for(backend);
        if (!cid.ok()) return cid.status();
        return ipfs::CidText(*cid);
      },
      [&](ipfs::PinBackend& backend, const std::string&)
          -> absl::StatusOr<std::pair<std::string, std::string>> {
        const absl::Time begin = absl::Now();
        absl::StatusOr<std::string> cid =
            content.bytes != nullptr
                ? backend.Upload(*content.bytes, filename)
                : backend.UploadFile(content.file, filename,
                                     options_.max_upload_bytes);
        observer_.upload_time(backend.name(), absl::Now() - begin);
        if (!cid.ok()) return cid.status();
        observer_.bytes("uploaded", content.size);
        absl::Status same = CheckSameCid(*expected_for(backend), *cid);
        if (!same.ok()) return same;
        return std::make_pair(ipfs::CidText(*expected_for(backend)),
                              std::string());
      });
}

absl::StatusOr<uri::Cid> ResourcePinner::LocalCid(
    const Content& content, const std::string& profile_name) const {
  absl::StatusOr<ipfs::ImportProfile> profile =
      ipfs::ProfileByName(profile_name);
  if (!profile.ok()) {
    return ErrorWithReason(absl::StatusCode::kInternal, "internal",
                           absl::StrCat("unknown import profile ", profile_name,
                                        ": ", profile.status().message()));
  }
  absl::StatusOr<uri::Cid> cid;
  if (content.bytes != nullptr) {
    ipfs::UnixfsImporter importer(*std::move(profile), nullptr);
    absl::Status updated = importer.Update(*content.bytes);
    if (!updated.ok()) return updated;
    cid = importer.Finish();
  } else {
    cid = ipfs::ImportFile(content.file, *profile, nullptr);
    if (!cid.ok()) {
      return ErrorWithReason(absl::StatusCode::kUnavailable, "read_failed",
                             cid.status().message());
    }
  }
  if (cid.ok()) observer_.bytes("hashed", content.size);
  return cid;
}

size_t DownloadMemoryBytes(size_t budget, int workers) {
  return std::min(kMaxDownloadMemoryBytes,
                  budget / static_cast<size_t>(std::max(1, workers)));
}

absl::Duration ClaimWait(absl::Duration fetch_timeout,
                         const std::vector<ipfs::PinBackend*>& backends) {
  absl::Duration longest = fetch_timeout;
  for (const ipfs::PinBackend* backend : backends) {
    longest = std::max(longest, backend->longest_pin_call());
  }
  return longest + absl::Seconds(30);
}

absl::Duration LongestResource(const PinnerOptions& options, int workers,
                               absl::Duration fetch_timeout,
                               const std::vector<ipfs::PinBackend*>& backends) {
  const int per_host = std::max(1, options.max_per_host);
  const int rounds = (workers + per_host - 1) / per_host;  // its own included
  absl::Duration longest = rounds * fetch_timeout + absl::Seconds(60);
  for (const ipfs::PinBackend* backend : backends) {
    longest += options.claim_wait + backend->longest_pin_call();
  }
  return longest;
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

void ResourcePinner::Record(Batch& batch) {
  if (batch.done.empty()) return;
  std::vector<std::optional<SavedPinning>> saved(batch.done.size());
  absl::StatusOr<std::vector<SavedPinning>> together =
      repo_.SaveResourcesPinning(batch.done);
  if (together.ok()) {
    for (size_t i = 0; i < saved.size(); ++i) saved[i] = (*together)[i];
  } else {
    // Each on its own, so one that cannot be recorded holds back no other.
    log::Warn("cannot record the batch's pins together: recording each alone",
              {{"resources", std::to_string(batch.done.size())},
               {"error", std::string(together.status().message())}});
    for (size_t i = 0; i < saved.size(); ++i) {
      absl::StatusOr<std::vector<SavedPinning>> alone =
          repo_.SaveResourcesPinning({batch.done[i]});
      if (alone.ok()) {
        saved[i] = (*alone)[0];
        continue;
      }
      // The pins the backends accepted are recorded without the outcome;
      // the lease runs out and the item comes back to find them. If that
      // fails too, the resource is retried (a second request to a backend
      // re-pins the same CID).
      Outcome pins{.unsaved = batch.done[i].new_pins};
      absl::Status recorded = SaveNewPins(pins);
      if (!pins.new_pin_ids.empty()) observer_.pins_requested(pins.new_pin_ids);
      log::Warn("cannot record pin",
                {{"resource", std::to_string(batch.done[i].item.id)},
                 {"error", std::string(alone.status().message())}});
      if (!recorded.ok()) Fail(batch.done[i].item, recorded, std::nullopt);
    }
  }
  std::vector<int64_t> pin_ids;
  for (size_t i = 0; i < saved.size(); ++i) {
    if (!saved[i]) continue;
    pin_ids.insert(pin_ids.end(), saved[i]->pin_ids.begin(),
                   saved[i]->pin_ids.end());
    if (saved[i]->lease_lost) {
      log::Warn("cannot record pin",
                {{"resource", std::to_string(batch.done[i].item.id)},
                 {"error", "lease lost"}});
    }
  }
  // Resources of the batch sharing a pin carry its id each.
  std::sort(pin_ids.begin(), pin_ids.end());
  pin_ids.erase(std::unique(pin_ids.begin(), pin_ids.end()), pin_ids.end());
  if (!pin_ids.empty()) observer_.pins_requested(pin_ids);
}

void ResourcePinner::Fail(const db::QueueItem& item, const absl::Status& error,
                          std::optional<absl::Duration> retry_after) {
  PinFailure failure{ReasonOf(error), std::string(error.message()),
                     retry_after ? retry_after : RetryAfterOf(error)};
  absl::Status saved;
  if (http::IsTemporary(error) && !repo_.IsLastAttempt(item)) {
    saved = repo_.Retry(item, failure);
  } else {
    saved = repo_.SaveFailure(item, failure);
  }
  log::Info("pin failed", {{"resource", std::to_string(item.id)},
                           {"reason", failure.reason},
                           {"detail", failure.detail}});
  if (!saved.ok()) {
    log::Warn("cannot record pin", {{"resource", std::to_string(item.id)},
                                    {"error", std::string(saved.message())}});
  }
}

void ResourcePinner::Handle(const db::QueueItem& item,
                            const ResourceToPin* loaded, Batch& batch) {
  if (loaded == nullptr || loaded->status == "pinned") {
    (void)repo_.Drop(item);
    return;
  }
  std::optional<ResourceToPin> full;
  if (loaded->stored_bytes_deferred) {
    // Its stored bytes did not fit the batch load: read them alone.
    absl::StatusOr<std::optional<ResourceToPin>> one =
        repo_.LoadResource(item.id);
    if (!one.ok()) return;  // the lease runs out and the item comes back
    if (!one->has_value()) {
      (void)repo_.Drop(item);
      return;
    }
    full = **std::move(one);
    loaded = &*full;
  }
  absl::StatusOr<Outcome> outcome = Pin(item, *loaded, batch);
  const int wanted =
      std::min<int>(options_.replication, static_cast<int>(backends_.size()));
  std::optional<absl::Status> error;
  std::optional<absl::Duration> retry_after;
  bool done = false;
  if (outcome.ok() && outcome->pins < wanted && !outcome->temporary &&
      !outcome->permanent) {
    outcome = ErrorWithReason(absl::StatusCode::kFailedPrecondition,
                              "no_backend", "no pin backend configured");
  }
  if (!outcome.ok()) {
    // Before any backend (the download), or recording a pin failed.
    error = outcome.status();
    observer_.finished("none", http::IsTemporary(*error) ? "retry" : "failed",
                       ReasonOf(*error));
  } else if (outcome->pins >= wanted ||
             (outcome->pins > 0 && !outcome->temporary)) {
    // Enough pins; or some, and the other backends refused for good.
    if (outcome->pins < wanted) {
      const absl::Status& why = *outcome->permanent;
      observer_.under_replicated(ReasonOf(why));
      log::Warn("under-replicated", {{"resource", std::to_string(item.id)},
                                     {"pins", std::to_string(outcome->pins)},
                                     {"wanted", std::to_string(wanted)},
                                     {"reason", ReasonOf(why)}});
    }
    done = true;
  } else if (outcome->pins > 0 && repo_.IsLastAttempt(item)) {
    // Out of attempts with some pins: keep what we have.
    observer_.under_replicated(ReasonOf(*outcome->temporary));
    done = true;
  } else {
    // No pin at all, or a backend that may still accept: try again later.
    // A temporary failure wins over a permanent one (the content may yet
    // get its pins once the struggling backend recovers).
    error = outcome->temporary ? *outcome->temporary : *outcome->permanent;
    retry_after = outcome->retry_after;
  }
  if (done) {
    // Recorded with the rest of the batch, its new pins with it.
    batch.done.push_back(
        {item, outcome->primary_cid, std::move(outcome->unsaved)});
    outcome->unsaved.clear();
  }
  if (outcome.ok() && !outcome->unsaved.empty()) {
    // Not complete: the pins the backends accepted are recorded alone. If
    // that fails too, the whole resource is retried (a second request to a
    // backend re-pins the same CID).
    if (absl::Status pins = SaveNewPins(*outcome); !pins.ok()) {
      error = pins;
      retry_after.reset();
    }
  }
  if (outcome.ok() && !outcome->new_pin_ids.empty()) {
    observer_.pins_requested(outcome->new_pin_ids);
  }
  if (error) Fail(item, *error, retry_after);
}

}  // namespace niftysave::pinner
