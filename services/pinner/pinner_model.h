#pragma once

// The values the pinner's logic (ResourcePinner) and its repository
// exchange, free of database and RPC library types.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/db/queue_item.h"

namespace niftysave::pinner {

struct ResourceToPin {
  int64_t id = 0;
  std::string kind;  // ipfs, http, data, arweave, ipns
  std::string normalized;
  std::string cid;   // for ipfs resources
  std::string path;  // ipfs/ipns/arweave: "" or "/..." under the root
  std::string status;
  std::optional<std::string>
      stored_bytes;  // original metadata bytes, when kept
  // Kept, but left out of a batch load over its byte budget: LoadResource
  // reads them.
  bool stored_bytes_deferred = false;
  // The SHA-256 (64 lower-case hex digits) a token committed to on chain
  // for these bytes, which the extractor found them to match (Zora's
  // contentHash): the bytes fetched to pin must match it too. "" for none.
  std::string expected_sha256;
};

struct PinFailure {
  std::string reason;
  std::string detail;
  // A backend's (or server's) "not before": a retry is never sooner.
  std::optional<absl::Duration> retry_after;
};

// A pin a backend accepted, not recorded yet.
struct NewPin {
  std::string cid;
  std::string backend;
  std::string request_id;  // the backend's (Pinning Service requestid)
};

// A resource whose every pin is requested (or already recorded): the CID
// its pins hold and the pins the backends accepted, not recorded yet.
struct ResourcePinning {
  db::QueueItem item;
  std::string cid;
  std::vector<NewPin> new_pins;
};

// How recording one ResourcePinning went: the ids of its new pins (in
// order), and whether its lease was lost (then only they were recorded).
struct SavedPinning {
  bool lease_lost = false;
  std::vector<int64_t> pin_ids;
};

// What claiming a (CID, backend) before calling the backend found.
enum class PinClaim {
  kClaimed,  // ours: ask the backend, then SavePin (or ReleasePin)
  kPinned,   // a live pin is recorded: nothing to ask
  kBusy,     // another lease holds the claim and may be asking right now
};

}  // namespace niftysave::pinner
