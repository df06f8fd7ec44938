#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/ipfs/pin_backend.h"
#include "nlohmann/json.hpp"

namespace niftysave::ipfs {

// A client of the IPFS Pinning Service API v1 (ipfs/pinning-services-api-spec),
// which nft.storage, Pinata, web3.storage and IPFS Cluster serve:
//   POST /pins {cid, name, origins, meta} → 202 PinStatus
//   GET  /pins/{requestid}                → 200 PinStatus
//   GET  /pins?cid=a,b&status=...&limit&before → 200 {count, results}
// every call with `Authorization: Bearer <token>` (the token never appears in
// a log or an error). Errors `{"error": {"reason", "details"}}` map to
// reasons: 401/403 `unauthorized`, 409 INSUFFICIENT_FUNDS
// `insufficient_funds`, 429 `rate_limited` (temporary, with Retry-After),
// other 4xx `rejected`, 5xx and transport failures `backend_unavailable`.
//
// Uploading bytes is not part of this API: Upload is Unimplemented. Pin such
// content through a backend that accepts uploads.
class PinningServiceBackend final : public PinBackend {
 public:
  // The spec caps the `cid` filter of GET /pins at 10 CIDs.
  static constexpr size_t kMaxCidsPerQuery = 10;
  // Pages read for one query before the answer is refused (backend_invalid):
  // a service that keeps paging (a bug, or `before` cursors that never end)
  // must not hold a status check for ever. 20 pages of page_limit results
  // is 20,000 pin objects for 10 CIDs.
  static constexpr int kMaxPagesPerQuery = 20;

  struct Options {
    std::string endpoint;      // "https://api.example.com" (no trailing /pins)
    std::string access_token;  // bearer token
    std::string backend_name = "pinning-service";
    std::vector<std::string> origins;  // multiaddrs of our own providers
    std::map<std::string, std::string> meta = {{"app", "niftysave"}};
    int page_limit = 1000;  // results per GET /pins page (1-1000)
    absl::Duration timeout = absl::Seconds(30);
  };
  PinningServiceBackend(const http::HttpClient& http, Options options);

  std::string name() const override { return options_.backend_name; }
  absl::StatusOr<PinReceipt> PinCid(const std::string& cid) override;
  absl::StatusOr<std::string> Upload(absl::string_view content,
                                     absl::string_view filename) override;
  // The best state among the service's pin objects for `cid` (pinned >
  // pinning > queued > failed); kFailed when it holds none.
  absl::StatusOr<PinState> Status(const std::string& cid) override;

  // GET /pins/{requestid}.
  absl::StatusOr<PinReceipt> StatusByRequestId(const std::string& request_id);
  // Status of many CIDs: queries of at most kMaxCidsPerQuery CIDs, each paged
  // with `before` until `count` results are read (at most kMaxPagesPerQuery
  // pages). CIDs the service does not hold are absent from the map.
  absl::StatusOr<std::map<std::string, PinState>> StatusMany(
      const std::vector<std::string>& cids) override;
  size_t max_status_batch() const override { return kMaxCidsPerQuery; }
  // PinCid is one POST; a status call of one query pages at most
  // kMaxPagesPerQuery times.
  absl::Duration longest_pin_call() const override { return options_.timeout; }
  absl::Duration longest_status_call() const override {
    return kMaxPagesPerQuery * options_.timeout;
  }

 private:
  // Any 2xx → the JSON object body; otherwise the mapped error.
  absl::StatusOr<nlohmann::json> Call(const std::string& method,
                                      const std::string& path_and_query,
                                      const std::string& body);

  const http::HttpClient& http_;
  const Options options_;
};

}  // namespace niftysave::ipfs
