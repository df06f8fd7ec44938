#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/fetch/content_fetcher.h"
#include "common/http/host_slots.h"
#include "common/ipfs/dag_walk.h"
#include "common/ipfs/pin_backend.h"
#include "common/uri/cid.h"
#include "services/pinner/pinner_repository.h"

namespace niftysave::pinner {

struct PinObserver {
  // One call per backend asked (or skipped) for a resource. outcome:
  // "requested" (the backend accepted a new pin), "exists" (a pin of this
  // CID on this backend was already recorded: nothing asked), "retry" (a
  // temporary failure), "failed" (a permanent one). Failures before any
  // backend is asked (the download) are reported with backend "none".
  std::function<void(const std::string& backend, const std::string& outcome,
                     const std::string& reason)>
      finished =
          [](const std::string&, const std::string&, const std::string&) {};
  // Bytes through each stage: "downloaded", "hashed", "uploaded".
  std::function<void(const std::string& stage, uint64_t bytes)> bytes =
      [](const std::string&, uint64_t) {};
  // How long one upload to `backend` took (successful or not).
  std::function<void(const std::string& backend, absl::Duration)> upload_time =
      [](const std::string&, absl::Duration) {};
  // A resource left with fewer pins than --replication because the other
  // backends refused it for good.
  std::function<void(const std::string& reason)> under_replicated =
      [](const std::string&) {};
  std::function<void(const std::vector<int64_t>&)> pins_requested =
      [](const std::vector<int64_t>&) {};
};

struct PinnerOptions {
  int batch_size = 8;
  // Pins per resource, on the first backends (in order) that accept it.
  int replication = 1;
  // Where downloads are streamed to. The service resolves it once at
  // start-up (ReadPinnerConfig: --tmp_dir, else $TMPDIR, else /tmp).
  std::string tmp_dir = "/tmp";
  // A download of at most this many bytes stays in memory (no temp file is
  // made, written, read back twice and removed); a larger one moves to
  // tmp_dir at the first byte past it. Every worker holds one download at a
  // time, so workers x this bounds the memory (DownloadMemoryBytes).
  size_t download_memory_bytes = 0;
  // Passed to PinBackend::UploadFile.
  size_t max_upload_bytes = size_t{256} << 20;
  // The most a pin by CID may hold (the DAG's cumulative size from its
  // root block's links): see ipfs::PlanCidPin.
  uint64_t max_pin_bytes = uint64_t{1} << 30;
  // Downloads running at once against one host:port (http::HostSlots).
  int max_per_host = 8;
  // On an item's last attempt, how long to wait (polling every claim_poll)
  // for another lease's claim on a (CID, backend) to end before failing
  // `pin_in_flight`: longer than one backend call, so a slow pin by another
  // replica never fails the resources that share its CID.
  absl::Duration claim_wait = absl::Minutes(3);
  absl::Duration claim_poll = absl::Seconds(1);
};

// How long a last attempt waits for another lease's claim (PinnerOptions::
// claim_wait): longer than that lease's call to any backend
// (PinBackend::longest_pin_call) or its download, and 30 s.
absl::Duration ClaimWait(absl::Duration fetch_timeout,
                         const std::vector<ipfs::PinBackend*>& backends);

// The longest one resource of a Step may take: its download waits for a
// host slot behind the other `workers` (options.max_per_host at a time,
// each up to `fetch_timeout`) and takes up to `fetch_timeout` itself; then
// a call to each backend (its PinBackend::longest_pin_call: a pin, or an
// upload of up to the asset limit), each after up to options.claim_wait for
// another lease's claim (on a last attempt); and a minute. A Step reports
// progress after each resource (KeepHolding), so the heartbeat renews its
// batch's leases this long after the last one (QueuePolicy::renew_for): a batch
// of slow assets is never taken over by another worker mid-step, and a step
// that hangs lets its items go.
absl::Duration LongestResource(const PinnerOptions& options, int workers,
                               absl::Duration fetch_timeout,
                               const std::vector<ipfs::PinBackend*>& backends);

// The per-download memory allowance (PinnerOptions::download_memory_bytes)
// from a budget for all `workers` together: budget / workers, at most
// kMaxDownloadMemoryBytes (past it a copy in memory saves little against the
// transfer itself).
inline constexpr size_t kMaxDownloadMemoryBytes = size_t{1} << 20;
size_t DownloadMemoryBytes(size_t budget, int workers);

// OK when `reported` (any text form, v0 or v1) is `expected`; otherwise a
// permanent error with reason `cid_mismatch` (DataLoss: retrying will not
// change it).
absl::Status CheckSameCid(const uri::Cid& expected,
                          const std::string& reported);

// One worker step (Step is called by several workers at once): lease resources
// from the 'pin' queue and make each durable on `replication` backends — by CID
// when the resource is content-addressed (after checking, from verified
// blocks, that its path exists under the root and
// that the pin fits max_pin_bytes: ipfs::PlanCidPin), otherwise by uploading
// its bytes (the stored original metadata bytes when we have them, so the
// pinned CID is of exactly what was parsed; else a capped download, held in
// memory up to download_memory_bytes and otherwise streamed to a temp file
// under tmp_dir and uploaded from it, so no large asset is held in memory
// whole).
//
// Before an upload the root CID is computed locally with the backend's import
// profile; the CID the backend reports must equal it (`cid_mismatch`).
//
// Replication: backends are asked in order until `replication` hold a pin.
// A backend that fails permanently is skipped for the next; one that fails
// temporarily is skipped too, and the resource is retried later (never
// sooner than a Retry-After) unless enough others accepted. The pins a
// batch's backends accepted are recorded with the batch's outcomes, in one
// transaction once its last resource is worked (a resource that does not
// complete records its own at once), and a backend that already has a
// recorded pin of the CID (or one accepted earlier in the batch) is not
// asked again, so a retried or replayed request never creates a second pin
// per (CID, backend).
//
// Fencing: a backend is asked only under a claim of the (CID, backend)
// (PinnerRepository::ClaimPin), committed before the request and dropped
// when the pin is recorded, so exactly one request per (CID, backend) goes
// out even when replicas work resources that share a CID at once. A
// resource whose CID is claimed by another lease is retried (reason
// `pin_in_flight`) and completes through the recorded pin then; on its last
// attempt it waits for that claim to end instead.
class ResourcePinner {
 public:
  // `blocks` serves verified blocks for the checks before a pin by CID
  // (ContentFetcher::FetchBlock in the service).
  ResourcePinner(PinnerRepository& repo, const fetch::ContentFetcher& fetcher,
                 ipfs::BlockSource blocks,
                 std::vector<ipfs::PinBackend*> backends, PinnerOptions options,
                 PinObserver observer);
  int Step();

 private:
  // What a resource resolved to: where its pins are, or why not.
  struct Outcome {
    std::string primary_cid;  // the CID on the first backend that holds it
    int pins = 0;             // backends holding a pin now
    std::vector<int64_t> new_pin_ids;
    // Pins the backends accepted, recorded with the resource's outcome in
    // its batch's transaction (or alone, by SaveNewPins, when it is not
    // complete).
    std::vector<NewPin> unsaved;
    std::optional<absl::Status> temporary;      // first temporary failure
    std::optional<absl::Status> permanent;      // first permanent failure
    std::optional<absl::Duration> retry_after;  // the longest asked for
  };
  // What one Step gathers while it works its leased resources one by one:
  // the resources whose pins are all requested, recorded together once the
  // last is worked (Record), and the (CID, backend) pairs backends accepted
  // for them, with the request ids. A later resource of the batch with the
  // same CID asks nothing: the pin is recorded with the batch.
  struct Batch {
    std::vector<ResourcePinning> done;
    std::map<std::pair<std::string, std::string>, std::string> accepted;
  };
  // The bytes to upload: in memory (stored metadata) or a downloaded file.
  struct Content {
    const std::string* bytes = nullptr;
    std::string file;
    uint64_t size = 0;
  };

  absl::StatusOr<Outcome> Pin(const db::QueueItem& item,
                              const ResourceToPin& resource, Batch& batch);
  // Records out.unsaved pin by pin, moving their ids to out.new_pin_ids.
  absl::Status SaveNewPins(Outcome& out);
  // Records the batch's done resources in one transaction (each alone when
  // that fails), then hands their new pins to the tracker.
  void Record(Batch& batch);
  // The item failed: retried later when the error is temporary and it has
  // attempts left, else its resource ends failed.
  void Fail(const db::QueueItem& item, const absl::Status& error,
            std::optional<absl::Duration> retry_after);
  // Asks each backend in turn, through `request` (which returns the CID
  // pinned and the backend's request id), each under a claim of its
  // (CID, backend) held by `item`'s lease.
  absl::StatusOr<Outcome> Replicate(
      const db::QueueItem& item, Batch& batch,
      const std::function<absl::StatusOr<std::string>(ipfs::PinBackend&)>&
          cid_for,
      const std::function<absl::StatusOr<std::pair<std::string, std::string>>(
          ipfs::PinBackend&, const std::string& cid)>& request);
  // ClaimPin; on the item's last attempt, waits up to claim_wait while the
  // (CID, backend) is claimed under another lease.
  absl::StatusOr<PinClaim> Claim(const db::QueueItem& item,
                                 const std::string& cid,
                                 const std::string& backend);
  absl::StatusOr<uri::Cid> LocalCid(const Content& content,
                                    const std::string& profile_name) const;
  // `loaded`: the batch load's record, nullptr when the resource is gone.
  void Handle(const db::QueueItem& item, const ResourceToPin* loaded,
              Batch& batch);
  std::string TempPath(int64_t resource_id) const;

  PinnerRepository& repo_;
  const fetch::ContentFetcher& fetcher_;
  const ipfs::BlockSource blocks_;
  const std::vector<ipfs::PinBackend*> backends_;
  const PinnerOptions options_;
  const PinObserver observer_;
  http::HostSlots host_slots_;
};

}  // namespace niftysave::pinner
