#include "common/ipfs/car_upload_backend.h"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/ipfs/backend_http.h"
#include "common/ipfs/car.h"
#include "common/runtime/reason.h"
#include "nlohmann/json.hpp"

namespace niftysave::ipfs {
namespace {

constexpr size_t kMaxReplyBytes = 4 << 20;

absl::Status Invalid(absl::string_view what) {
  return ErrorWithReason(absl::StatusCode::kUnavailable, "backend_invalid",
                         absl::StrCat("car upload service: ", what));
}

bool IsCidText(absl::string_view s) {
  if (s.empty() || s.size() > 200) return false;
  return std::all_of(s.begin(), s.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0; });
}

// nft.storage's error body: `{"ok": false, "error": {"name", "message"}}`.
absl::Status MapError(const http::HttpResponse& response) {
  std::string detail;
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  const nlohmann::json& error = JsonField(body, "error");
  if (JsonField(error, "message").is_string()) {
    detail = JsonField(error, "message").get<std::string>().substr(0, 300);
  }
  const int code = response.status;
  const std::string message = absl::StrCat("car upload service HTTP ", code,
                                           detail.empty() ? "" : ": ", detail);
  return BackendHttpError(response, message);
}

// Removes a directory tree when it goes out of scope.
class TempDir {
 public:
  static absl::StatusOr<TempDir> Create(const std::string& parent) {
    std::error_code ec;
    std::string base = parent;
    if (base.empty()) base = std::filesystem::temp_directory_path(ec).string();
    if (ec || base.empty()) base = "/tmp";
    std::string tmpl = base + "/niftysave-car-upload-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return ErrorWithReason(
          absl::StatusCode::kInternal, "io",
          absl::StrCat("cannot create a temp dir in ", base));
    }
    return TempDir(std::move(tmpl));
  }
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) {
    other.path_.clear();
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace

CarUploadBackend::CarUploadBackend(const http::HttpClient& http,
                                   Options options)
    : http_(http), options_(std::move(options)) {}

absl::StatusOr<PinReceipt> CarUploadBackend::PinCid(const std::string& cid) {
  return ErrorWithReason(
      absl::StatusCode::kUnimplemented, "rejected",
      absl::StrCat("the CAR upload API stores only what is uploaded to it; it "
                   "cannot pin ",
                   cid.substr(0, 100),
                   " by reference: pin it through kubo, cluster or the pinning "
                   "service"));
}

uint64_t CarUploadBackend::MaxPieces() const {
  // The CAR of n bytes of content is at most n/64 larger (CID prefixes and
  // the DAG's inner nodes; 1 MiB leaves, up to 1024 links a node). A piece
  // but the last is closed only when the next section (a block of at most
  // 1 MiB and its prefix) does not fit, so it carries more than max_car_bytes
  // less 1 MiB and 1 KiB; and every piece carries at least one block.
  const uint64_t content = options_.max_upload_bytes;
  const uint64_t car = content + content / 64 + 4096;
  const uint64_t slack = (uint64_t{1} << 20) + 1024;
  const uint64_t filled = options_.max_car_bytes > slack + 1024
                              ? options_.max_car_bytes - slack
                              : 1024;
  const uint64_t blocks = (content >> 20) + (content >> 20) / 512 + 4;
  return std::min(car / filled + 1, blocks);
}

absl::Status CarUploadBackend::SendPiece(const std::string& path,
                                         const uri::Cid& root) {
  http::HttpLimits limits = http_.options().limits;
  limits.total_timeout = options_.upload_timeout;
  limits.max_body_bytes = kMaxReplyBytes;
  limits.max_redirects = 0;  // a redirect must not carry the token elsewhere
  http::HttpRequest request{.method = "POST",
                            .url = options_.endpoint + "/upload",
                            .body_file = path,
                            .limits = limits};
  request.headers = {"Content-Type: application/car",
                     "Accept: application/json",
                     "Authorization: Bearer " + options_.access_token};
  absl::StatusOr<http::HttpResponse> response = http_.Do(request);
  if (!response.ok()) {
    return BackendTransportError(response.status(), "car upload service");
  }
  if (response->status < 200 || response->status > 299) {
    return MapError(*response);
  }
  nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
  const nlohmann::json& cid = JsonField(JsonField(body, "value"), "cid");
  if (JsonField(body, "ok") != true || !cid.is_string()) {
    return Invalid("POST /upload answered without ok and value.cid");
  }
  absl::StatusOr<uri::Cid> got = uri::ParseCid(cid.get<std::string>());
  if (!got.ok() || got->ToString() != root.ToString()) {
    return ErrorWithReason(absl::StatusCode::kFailedPrecondition,
                           "cid_mismatch",
                           absl::StrCat("car upload service stored ",
                                        cid.get<std::string>().substr(0, 100),
                                        ", not our root ", root.ToString()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CarUploadBackend::ImportAndSend(
    const std::function<absl::StatusOr<uri::Cid>(const BlockSink&)>& import) {
  absl::StatusOr<TempDir> dir = TempDir::Create(options_.temp_dir);
  if (!dir.ok()) return dir.status();
  const ImportProfile profile = IpfsCarProfile();
  std::vector<std::string> pieces;
  absl::StatusOr<uri::Cid> root;
  {
    CarSplitWriter writer(dir->path() + "/upload.car", options_.max_car_bytes,
                          PlaceholderRoot(profile.cid_version));
    root = import([&writer](const uri::Cid& cid, absl::string_view block) {
      return writer.Put(cid, block);
    });
    if (!root.ok()) return root.status();
    absl::StatusOr<std::vector<std::string>> written = writer.Finish(*root);
    if (!written.ok()) return written.status();
    pieces = *std::move(written);
  }
  // Blocks keep their order, so the root (last) goes in the last request:
  // the service has every child by the time it sees the root.
  for (const std::string& piece : pieces) {
    if (absl::Status s = SendPiece(piece, *root); !s.ok()) return s;
    std::error_code ignored;
    std::filesystem::remove(piece, ignored);
  }
  return CidText(*root);
}

absl::StatusOr<std::string> CarUploadBackend::Upload(
    absl::string_view content, absl::string_view /*filename*/) {
  if (content.size() > options_.max_upload_bytes) {
    return ErrorWithReason(
        absl::StatusCode::kInvalidArgument, "too_large",
        absl::StrCat(content.size(), " bytes, over the ",
                     options_.max_upload_bytes, " byte upload limit"));
  }
  const ImportProfile profile = IpfsCarProfile();
  return ImportAndSend([&](const BlockSink& sink) -> absl::StatusOr<uri::Cid> {
    UnixfsImporter importer(profile, sink);
    if (absl::Status s = importer.Update(content); !s.ok()) return s;
    return importer.Finish();
  });
}

absl::StatusOr<std::string> CarUploadBackend::UploadFile(
    const std::string& path, absl::string_view /*filename*/, size_t max_bytes) {
  if (absl::StatusOr<uint64_t> size =
          UploadFileSize(path, std::min(max_bytes, options_.max_upload_bytes));
      !size.ok()) {
    return size.status();
  }
  const ImportProfile profile = IpfsCarProfile();
  return ImportAndSend(
      [&](const BlockSink& sink) { return ImportFile(path, profile, sink); });
}

absl::StatusOr<PinState> CarUploadBackend::Status(const std::string& cid) {
  if (!IsCidText(cid)) {
    return ErrorWithReason(absl::StatusCode::kInvalidArgument, "rejected",
                           absl::StrCat("not a CID: ", cid.substr(0, 100)));
  }
  http::HttpLimits limits = http_.options().limits;
  limits.total_timeout = options_.timeout;
  limits.max_body_bytes = kMaxReplyBytes;
  limits.max_redirects = 0;
  http::HttpRequest request{.url = options_.endpoint + "/check/" + cid,
                            .limits = limits};
  request.headers = {"Accept: application/json",
                     "Authorization: Bearer " + options_.access_token};
  absl::StatusOr<http::HttpResponse> response = http_.Do(request);
  if (!response.ok()) {
    return BackendTransportError(response.status(), "car upload service");
  }
  if (response->status == 404) return PinState::kFailed;  // holds no pin
  if (response->status < 200 || response->status > 299) {
    return MapError(*response);
  }
  nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
  const nlohmann::json& status =
      JsonField(JsonField(JsonField(body, "value"), "pin"), "status");
  if (JsonField(body, "ok") != true || !status.is_string()) {
    return Invalid("GET /check answered without value.pin.status");
  }
  const std::string s = status.get<std::string>();
  if (s == "queued") return PinState::kQueued;
  if (s == "pinning") return PinState::kPinning;
  if (s == "pinned") return PinState::kPinned;
  if (s == "failed") return PinState::kFailed;
  return Invalid("GET /check answered with an unknown pin status");
}

}  // namespace niftysave::ipfs
