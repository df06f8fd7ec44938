#include "common/ipfs/cluster_backend.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/ipfs/backend_http.h"
#include "common/runtime/reason.h"
#include "common/uri/cid.h"

namespace niftysave::ipfs {
namespace {

// An answer bigger than this is not the documented JSON (a GlobalPinInfo is
// well under 1 KB a peer).
constexpr size_t kMaxReplyBytes = 16 << 20;

std::string Canonical(const std::string& cid) {
  absl::StatusOr<uri::Cid> parsed = uri::ParseCid(cid);
  return parsed.ok() ? parsed->ToString() : cid;
}

absl::Status Invalid(absl::string_view what) {
  return ErrorWithReason(absl::StatusCode::kUnavailable, "backend_invalid",
                         absl::StrCat("ipfs cluster: ", what));
}

// Cluster's error object is `{"code": N, "message": "..."}`.
absl::Status MapError(const http::HttpResponse& response) {
  std::string detail;
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (JsonField(body, "message").is_string()) {
    detail = JsonField(body, "message").get<std::string>().substr(0, 300);
  }
  const int code = response.status;
  const std::string message = absl::StrCat("ipfs cluster HTTP ", code,
                                           detail.empty() ? "" : ": ", detail);
  return BackendHttpError(response, message);
}

// The JSON values of a body that is a stream of objects (one per line, or
// simply concatenated) or a single JSON array of them.
absl::StatusOr<std::vector<nlohmann::json>> ParseObjectStream(
    const std::string& body) {
  std::vector<nlohmann::json> out;
  const absl::string_view trimmed = absl::StripAsciiWhitespace(body);
  if (absl::StartsWith(trimmed, "[")) {
    nlohmann::json array = nlohmann::json::parse(trimmed, nullptr, false);
    if (array.is_discarded() || !array.is_array()) {
      return Invalid("a reply that is not a JSON array");
    }
    for (nlohmann::json& item : array) out.push_back(std::move(item));
    return out;
  }
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    nlohmann::json item = nlohmann::json::parse(line, nullptr, false);
    if (item.is_discarded() || !item.is_object()) {
      return Invalid("a streamed reply line that is not a JSON object");
    }
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

std::optional<PinState> RollUpClusterPeerMap(const nlohmann::json& gpi) {
  const nlohmann::json& peers = JsonField(gpi, "peer_map");
  bool pinning = false;
  bool queued = false;
  bool error = false;
  if (peers.is_object()) {
    for (const auto& [peer, info] : peers.items()) {
      const nlohmann::json& status = JsonField(info, "status");
      if (!status.is_string()) continue;
      const std::string s = status.get<std::string>();
      if (s == "pinned") return PinState::kPinned;
      if (s == "pinning") {
        pinning = true;
      } else if (s == "pin_queued" || s == "queued") {
        queued = true;
      } else if (s == "pin_error" || s == "cluster_error" || s == "error" ||
                 s == "unexpectedly_unpinned" || s == "unpin_error" ||
                 s == "unpinning" || s == "unpin_queued") {
        error = true;
      }
      // "remote" (allocated to other peers), "unpinned", "undefined": this
      // peer does not hold it, and says nothing about those that should.
    }
  }
  if (pinning) return PinState::kPinning;
  if (queued) return PinState::kQueued;
  if (error) return PinState::kFailed;
  return std::nullopt;
}

ClusterBackend::ClusterBackend(const http::HttpClient& http, Options options)
    : http_(http), options_(std::move(options)) {}

absl::StatusOr<std::string> ClusterBackend::Call(http::HttpRequest request,
                                                 absl::Duration timeout) {
  http::HttpLimits limits = http_.options().limits;
  limits.total_timeout = timeout;
  limits.max_body_bytes = kMaxReplyBytes;
  limits.max_redirects = 0;  // a redirect must not carry credentials away
  request.limits = limits;
  request.url = options_.endpoint + request.url;
  request.headers.push_back("Accept: application/json");
  if (!options_.basic_auth.empty()) {
    request.headers.push_back("Authorization: Basic " +
                              absl::Base64Escape(options_.basic_auth));
  } else if (!options_.bearer_token.empty()) {
    request.headers.push_back("Authorization: Bearer " + options_.bearer_token);
  }
  absl::StatusOr<http::HttpResponse> response = http_.Do(request);
  if (!response.ok()) {
    const absl::Status& s = response.status();
    // An answer over the reply cap is not the documented JSON.
    if (ReasonOf(s) == "too_large") {
      return ErrorWithReason(absl::StatusCode::kUnavailable, "backend_invalid",
                             absl::StrCat("ipfs cluster: ", s.message()));
    }
    return BackendTransportError(s, "ipfs cluster");
  }
  if (response->status < 200 || response->status > 299) {
    return MapError(*response);
  }
  return std::move(response->body);
}

std::string ClusterBackend::PinOptionsQuery(absl::string_view name) const {
  std::string query =
      absl::StrCat("replication-min=", options_.replication_min,
                   "&replication-max=", options_.replication_max,
                   "&name=", QueryEscape(name));
  for (const auto& [key, value] : options_.meta) {
    absl::StrAppend(&query, "&meta-", QueryEscape(key), "=",
                    QueryEscape(value));
  }
  return query;
}

absl::StatusOr<PinReceipt> ClusterBackend::PinCid(const std::string& cid) {
  absl::StatusOr<uri::Cid> parsed = uri::ParseCid(cid);
  if (!parsed.ok()) {
    return ErrorWithReason(absl::StatusCode::kInvalidArgument, "rejected",
                           absl::StrCat("not a CID: ", cid.substr(0, 100)));
  }
  absl::StatusOr<std::string> body =
      Call({.method = "POST",
            .url = absl::StrCat("/pins/", QueryEscape(cid), "?",
                                PinOptionsQuery(cid))},
           options_.timeout);
  if (!body.ok()) return body.status();
  nlohmann::json pin = nlohmann::json::parse(*body, nullptr, false);
  if (!JsonField(pin, "cid").is_string()) {
    return Invalid("POST /pins answered without a Pin object");
  }
  if (Canonical(JsonField(pin, "cid").get<std::string>()) !=
      parsed->ToString()) {
    return Invalid("POST /pins answered with another CID");
  }
  // The pin is in the cluster's shared state; the peers pin it next.
  return PinReceipt{.state = PinState::kQueued, .request_id = ""};
}

absl::StatusOr<std::string> ClusterBackend::Add(http::MultipartFile file,
                                                absl::string_view filename) {
  const std::string query = absl::StrCat(
      "/add?cid-version=1&raw-leaves=true&chunker=size-262144&layout=balanced"
      "&hash=sha2-256&wrap-with-directory=false&progress=false&shard=false"
      "&stream-channels=true&",
      PinOptionsQuery(filename));
  file.field = "file";
  file.filename = std::string(filename.empty() ? "file" : filename);
  absl::StatusOr<std::string> body =
      Call({.method = "POST", .url = query, .file = std::move(file)},
           options_.upload_timeout);
  if (!body.ok()) return body.status();
  absl::StatusOr<std::vector<nlohmann::json>> outputs =
      ParseObjectStream(*body);
  if (!outputs.ok()) return outputs.status();
  // The root comes last (progress and children before it).
  for (auto it = outputs->rbegin(); it != outputs->rend(); ++it) {
    const nlohmann::json& cid = JsonField(*it, "cid");
    if (cid.is_string()) {
      absl::StatusOr<uri::Cid> parsed = uri::ParseCid(cid.get<std::string>());
      if (!parsed.ok()) return Invalid("add answered with a CID that is bad");
      return parsed->ToString();
    }
    if (JsonField(*it, "message").is_string()) {
      return ErrorWithReason(
          absl::StatusCode::kUnavailable, "backend_unavailable",
          absl::StrCat(
              "ipfs cluster add: ",
              JsonField(*it, "message").get<std::string>().substr(0, 300)));
    }
  }
  return Invalid("add answered without a root CID");
}

absl::StatusOr<std::string> ClusterBackend::Upload(absl::string_view content,
                                                   absl::string_view filename) {
  if (content.size() > options_.max_upload_bytes) {
    return ErrorWithReason(
        absl::StatusCode::kInvalidArgument, "too_large",
        absl::StrCat(content.size(), " bytes, over the ",
                     options_.max_upload_bytes, " byte upload limit"));
  }
  return Add({.content = std::string(content)}, filename);
}

absl::StatusOr<std::string> ClusterBackend::UploadFile(
    const std::string& path, absl::string_view filename, size_t max_bytes) {
  if (absl::StatusOr<uint64_t> size =
          UploadFileSize(path, std::min(max_bytes, options_.max_upload_bytes));
      !size.ok()) {
    return size.status();
  }
  http::MultipartFile file;
  file.path = path;
  return Add(std::move(file), filename);
}

absl::StatusOr<PinState> ClusterBackend::Status(const std::string& cid) {
  absl::StatusOr<std::string> body =
      Call({.url = absl::StrCat("/pins/", QueryEscape(cid))}, options_.timeout);
  if (!body.ok()) return body.status();
  nlohmann::json gpi = nlohmann::json::parse(*body, nullptr, false);
  if (!gpi.is_object()) return Invalid("GET /pins/{cid}: not a JSON object");
  std::optional<PinState> state = RollUpClusterPeerMap(gpi);
  // A CID the cluster does not track: no pin, as the pinning service says.
  return state.value_or(PinState::kFailed);
}

absl::StatusOr<std::map<std::string, PinState>> ClusterBackend::StatusMany(
    const std::vector<std::string>& cids) {
  std::map<std::string, PinState> states;
  std::map<std::string, std::string> asked;  // canonical → as given
  for (const std::string& cid : cids) asked.emplace(Canonical(cid), cid);
  for (size_t begin = 0; begin < cids.size(); begin += kMaxCidsPerQuery) {
    const size_t end = std::min(cids.size(), begin + kMaxCidsPerQuery);
    std::vector<std::string> chunk;
    for (size_t i = begin; i < end; ++i) chunk.push_back(QueryEscape(cids[i]));
    absl::StatusOr<std::string> body =
        Call({.url = absl::StrCat("/pins?local=false&cids=",
                                  absl::StrJoin(chunk, ","))},
             options_.timeout);
    if (!body.ok()) return body.status();
    absl::StatusOr<std::vector<nlohmann::json>> infos =
        ParseObjectStream(*body);
    if (!infos.ok()) return infos.status();
    for (const nlohmann::json& gpi : *infos) {
      const nlohmann::json& cid = JsonField(gpi, "cid");
      if (!cid.is_string()) {
        return Invalid("GET /pins: a GlobalPinInfo without cid");
      }
      auto it = asked.find(Canonical(cid.get<std::string>()));
      if (it == asked.end()) continue;  // not one we asked about
      std::optional<PinState> state = RollUpClusterPeerMap(gpi);
      if (state.has_value()) states[it->second] = *state;
    }
  }
  return states;
}

}  // namespace niftysave::ipfs
