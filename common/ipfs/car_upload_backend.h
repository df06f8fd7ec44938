#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/ipfs/pin_backend.h"
#include "common/ipfs/unixfs_importer.h"

namespace niftysave::ipfs {

// An nft.storage-style CAR upload service (the nft.storage HTTP API,
// https://nft.storage/api-docs/):
//   POST /upload  Content-Type: application/car, body one CAR file
//                 → 200 {"ok":true,"value":{"cid":"<root>",…}}
//   GET  /check/{cid} → 200 {"ok":true,"value":{"cid","pin":{"status"},…}}
//                 (status queued|pinning|pinned|failed), 404 when unknown
// every call with `Authorization: Bearer <token>` (never logged). Errors
// `{"ok":false,"error":{"name","message"}}` map to reasons: 401/403
// `unauthorized`, 413 `too_large`, 429 `rate_limited` (temporary, with
// Retry-After), other 4xx `rejected`, 5xx and transport `backend_unavailable`.
//
// Upload/UploadFile import the content with the `ipfs-car` profile and write
// the CAR into a temp dir, split into pieces of at most `max_car_bytes` (the
// service's per-request limit; each piece is a CAR of its own with the same
// root, together the whole DAG), streaming with bounded memory, then POST
// each piece and check every answer names our root. The temp files are
// removed whatever happens.
//
// PinCid: the nft.storage API pins only what was uploaded to it (its
// `/pins` Pinning Service API was for a closed beta), so pinning a CID by
// reference is Unimplemented with reason `rejected`.
class CarUploadBackend final : public PinBackend {
 public:
  struct Options {
    std::string endpoint;      // "https://api.nft.storage" (no trailing /)
    std::string access_token;  // bearer token
    std::string backend_name = "car-upload";
    uint64_t max_car_bytes = 100'000'000;        // per CAR piece (per request)
    std::string temp_dir;                        // "" = the system temp dir
    absl::Duration timeout = absl::Seconds(30);  // status calls
    absl::Duration upload_timeout = absl::Minutes(10);  // per piece
    size_t max_upload_bytes = size_t{512} << 20;        // content, for Upload()
  };
  CarUploadBackend(const http::HttpClient& http, Options options);

  std::string name() const override { return options_.backend_name; }
  absl::StatusOr<PinReceipt> PinCid(const std::string& cid) override;
  absl::StatusOr<std::string> Upload(absl::string_view content,
                                     absl::string_view filename) override;
  absl::StatusOr<std::string> UploadFile(const std::string& path,
                                         absl::string_view filename,
                                         size_t max_bytes) override;
  // GET /check/{cid}: value.pin.status; kFailed when the service does not
  // know the CID (404), as the other backends report a pin they do not hold.
  absl::StatusOr<PinState> Status(const std::string& cid) override;
  std::string upload_profile() const override { return "ipfs-car"; }
  // An upload is one POST a piece, each up to upload_timeout.
  absl::Duration longest_pin_call() const override {
    return static_cast<int64_t>(MaxPieces()) * options_.upload_timeout;
  }
  absl::Duration longest_status_call() const override {
    return options_.timeout;
  }
  // The most pieces an upload of max_upload_bytes is split into.
  uint64_t MaxPieces() const;

 private:
  // Runs `import` (which feeds the content to the sink it is given) into
  // split CARs in a fresh temp dir, POSTs every piece, removes the dir.
  absl::StatusOr<std::string> ImportAndSend(
      const std::function<absl::StatusOr<uri::Cid>(const BlockSink&)>& import);
  absl::Status SendPiece(const std::string& path, const uri::Cid& root);

  const http::HttpClient& http_;
  const Options options_;
};

}  // namespace niftysave::ipfs
