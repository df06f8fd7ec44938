#pragma once

#include <algorithm>
#include <string>

#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/ipfs/pin_backend.h"
#include "nlohmann/json.hpp"

namespace niftysave::ipfs {

// The kubo RPC API (`/api/v0/...`, every call a POST with `?arg=`), as
// served by kubo and js-ipfs. `pin/add` is synchronous there: it returns when
// the DAG is local and pinned, so a pin of absent content must carry a
// timeout or it hangs.
class KuboBackend final : public PinBackend {
 public:
  struct Options {
    std::string api_url;  // "http://127.0.0.1:5001"
    absl::Duration pin_timeout = absl::Minutes(2);
    size_t max_upload_bytes = 512 << 20;
  };
  KuboBackend(const http::HttpClient& http, Options options);

  std::string name() const override { return "kubo"; }
  absl::StatusOr<PinReceipt> PinCid(const std::string& cid) override;
  absl::StatusOr<std::string> Upload(absl::string_view content,
                                     absl::string_view filename) override;
  // The multipart part is streamed from the file (never held in memory).
  absl::StatusOr<std::string> UploadFile(const std::string& path,
                                         absl::string_view filename,
                                         size_t max_bytes) override;
  absl::StatusOr<PinState> Status(const std::string& cid) override;
  // `add?cid-version=1`: 256 KiB chunks, raw leaves, CIDv1.
  std::string upload_profile() const override { return "kubo-v1"; }
  absl::Duration longest_pin_call() const override {
    return std::max(PinCallTimeout(), kAddTimeout);
  }
  absl::Duration longest_status_call() const override { return kStatusTimeout; }

  // One `add` (the upload streamed whole) and one `pin/ls`.
  static constexpr absl::Duration kAddTimeout = absl::Minutes(10);
  static constexpr absl::Duration kStatusTimeout = absl::Seconds(30);

 private:
  // `pin/add` carries pin_timeout for kubo itself; the HTTP call waits a
  // little longer for kubo's own timeout answer.
  absl::Duration PinCallTimeout() const {
    return options_.pin_timeout + absl::Seconds(10);
  }
  // POSTs `path?query`; 200 → parsed JSON body, otherwise the kubo error.
  absl::StatusOr<nlohmann::json> Post(
      const std::string& path_and_query, absl::Duration timeout,
      const http::MultipartFile* file = nullptr);
  // `add` of `file` (content in memory or a path); the reported Hash.
  absl::StatusOr<std::string> Add(const http::MultipartFile& file);

  const http::HttpClient& http_;
  const Options options_;
};

}  // namespace niftysave::ipfs
