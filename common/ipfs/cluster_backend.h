#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/ipfs/pin_backend.h"
#include "nlohmann/json.hpp"

namespace niftysave::ipfs {

// A client of the IPFS Cluster REST API (ipfs-cluster v1, api/rest):
//   POST /pins/{cid}?replication-min&replication-max&name&meta-K=V → 200 Pin
//   GET  /pins/{cid}                 → 200 GlobalPinInfo {cid, peer_map}
//   GET  /pins?cids=a,b,…            → 200 GlobalPinInfo objects, one per
//                                      line (a stream; a JSON array is also
//                                      accepted)
//   POST /add?cid-version=1&raw-leaves=true&… multipart → 200 AddedOutput
//        objects, one per line; the last one is the root.
// Optional auth: HTTP basic ("user:pass") or a bearer token; neither ever
// appears in a log or an error. Errors map to reasons like the pinning
// service backend: 401/403 `unauthorized`, 429 `rate_limited` (temporary,
// with Retry-After), 413 `too_large`, other 4xx `rejected`, 5xx and
// transport failures `backend_unavailable`, an answer that is not the
// documented JSON `backend_invalid`.
//
// Status rolls up the peer_map: pinned if any peer has pinned it, else
// pinning, else queued, else (every allocated peer in error) failed. A CID
// the cluster does not track (every peer "unpinned") is NotFound in Status
// and absent from StatusMany.
class ClusterBackend final : public PinBackend {
 public:
  // CIDs per GET /pins?cids= request: ~120 CIDv1 of 59 characters keep the
  // request line near 7 KB, under common 8 KB header limits.
  static constexpr size_t kMaxCidsPerQuery = 120;

  struct Options {
    std::string endpoint;      // "http://127.0.0.1:9094" (no trailing slash)
    std::string basic_auth;    // "user:pass", or empty
    std::string bearer_token;  // or empty
    std::string backend_name = "cluster";
    int replication_min = 0;  // 0: the cluster's default; -1: everywhere
    int replication_max = 0;
    std::map<std::string, std::string> meta = {{"app", "niftysave"}};
    absl::Duration timeout = absl::Seconds(30);
    absl::Duration upload_timeout = absl::Minutes(10);
    size_t max_upload_bytes = size_t{512} << 20;
  };
  ClusterBackend(const http::HttpClient& http, Options options);

  std::string name() const override { return options_.backend_name; }
  absl::StatusOr<PinReceipt> PinCid(const std::string& cid) override;
  absl::StatusOr<std::string> Upload(absl::string_view content,
                                     absl::string_view filename) override;
  absl::StatusOr<std::string> UploadFile(const std::string& path,
                                         absl::string_view filename,
                                         size_t max_bytes) override;
  absl::StatusOr<PinState> Status(const std::string& cid) override;
  absl::StatusOr<std::map<std::string, PinState>> StatusMany(
      const std::vector<std::string>& cids) override;
  size_t max_status_batch() const override { return kMaxCidsPerQuery; }
  // Cluster's adder is kubo's: 256 KiB chunks, 174 links, balanced; with
  // cid-version=1 and raw leaves.
  std::string upload_profile() const override { return "kubo-v1"; }
  // A pin is one POST, an upload one `add`; a status call of up to
  // kMaxCidsPerQuery CIDs one GET.
  absl::Duration longest_pin_call() const override {
    return std::max(options_.timeout, options_.upload_timeout);
  }
  absl::Duration longest_status_call() const override {
    return options_.timeout;
  }

 private:
  // One request; any 2xx → the body; otherwise the mapped error.
  absl::StatusOr<std::string> Call(http::HttpRequest request,
                                   absl::Duration timeout);
  absl::StatusOr<std::string> Add(http::MultipartFile file,
                                  absl::string_view filename);
  std::string PinOptionsQuery(absl::string_view name) const;

  const http::HttpClient& http_;
  const Options options_;
};

// The roll-up of one GlobalPinInfo (exposed for tests): nullopt when no peer
// tracks the CID.
std::optional<PinState> RollUpClusterPeerMap(const nlohmann::json& gpi);

}  // namespace niftysave::ipfs
