#include "common/ipfs/pinning_service_backend.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ipfs/backend_http.h"
#include "common/runtime/reason.h"
#include "common/uri/cid.h"

namespace niftysave::ipfs {
namespace {

constexpr char kAllStatuses[] = "queued,pinning,pinned,failed";

absl::StatusOr<PinState> ParseState(const nlohmann::json& status) {
  if (status.is_string()) {
    const std::string s = status.get<std::string>();
    if (s == "queued") return PinState::kQueued;
    if (s == "pinning") return PinState::kPinning;
    if (s == "pinned") return PinState::kPinned;
    if (s == "failed") return PinState::kFailed;
  }
  return ErrorWithReason(absl::StatusCode::kUnavailable, "backend_invalid",
                         "pinning service: a PinStatus with an unknown status");
}

int Rank(PinState state) {
  switch (state) {
    case PinState::kFailed:
      return 0;
    case PinState::kQueued:
      return 1;
    case PinState::kPinning:
      return 2;
    case PinState::kPinned:
      return 3;
  }
  return 0;
}

// The canonical text of a CID (v1 base32), so the service may answer in any
// multibase; the input itself when it does not parse.
std::string Canonical(const std::string& cid) {
  absl::StatusOr<uri::Cid> parsed = uri::ParseCid(cid);
  return parsed.ok() ? parsed->ToString() : cid;
}

absl::StatusOr<PinReceipt> ParsePinStatus(const nlohmann::json& body) {
  if (!JsonField(body, "requestid").is_string()) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "backend_invalid",
                           "pinning service: a PinStatus without requestid");
  }
  absl::StatusOr<PinState> state = ParseState(JsonField(body, "status"));
  if (!state.ok()) return state.status();
  return PinReceipt{
      .state = *state,
      .request_id = JsonField(body, "requestid").get<std::string>()};
}

// The spec's Failure object, `{"error": {"reason", "details"}}`, as a Status.
absl::Status MapError(const http::HttpResponse& response) {
  std::string reason;
  std::string details;
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  const nlohmann::json& error = JsonField(body, "error");
  if (JsonField(error, "reason").is_string()) {
    reason = JsonField(error, "reason").get<std::string>().substr(0, 100);
  }
  if (JsonField(error, "details").is_string()) {
    details = JsonField(error, "details").get<std::string>().substr(0, 300);
  }
  const int code = response.status;
  const std::string message =
      absl::StrCat("pinning service HTTP ", code, reason.empty() ? "" : " ",
                   reason, details.empty() ? "" : ": ", details);
  if (code == 409 && reason == "INSUFFICIENT_FUNDS") {
    return ErrorWithReason(absl::StatusCode::kResourceExhausted,
                           "insufficient_funds", message);
  }
  return BackendHttpError(response, message);
}

}  // namespace

PinningServiceBackend::PinningServiceBackend(const http::HttpClient& http,
                                             Options options)
    : http_(http), options_(std::move(options)) {}

absl::StatusOr<nlohmann::json> PinningServiceBackend::Call(
    const std::string& method, const std::string& path_and_query,
    const std::string& body) {
  http::HttpLimits limits = http_.options().limits;
  limits.total_timeout = options_.timeout;
  limits.max_body_bytes = 16 << 20;
  limits.max_redirects = 0;  // a redirect must not carry the token elsewhere
  http::HttpRequest request{.method = method,
                            .url = options_.endpoint + path_and_query,
                            .body = body,
                            .limits = limits};
  request.headers.push_back("Accept: application/json");
  if (!body.empty())
    request.headers.push_back("Content-Type: application/json");
  if (!options_.access_token.empty()) {
    request.headers.push_back("Authorization: Bearer " + options_.access_token);
  }
  absl::StatusOr<http::HttpResponse> response = http_.Do(request);
  if (!response.ok()) {
    return BackendTransportError(response.status(), "pinning service");
  }
  if (response->status < 200 || response->status > 299) {
    return MapError(*response);
  }
  nlohmann::json parsed = nlohmann::json::parse(response->body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "backend_invalid",
                           "pinning service answered with something that is "
                           "not a JSON object");
  }
  return parsed;
}

absl::StatusOr<PinReceipt> PinningServiceBackend::PinCid(
    const std::string& cid) {
  nlohmann::json pin = {{"cid", cid}, {"name", cid}};
  if (!options_.origins.empty()) pin["origins"] = options_.origins;
  if (!options_.meta.empty()) pin["meta"] = options_.meta;
  absl::StatusOr<nlohmann::json> reply = Call("POST", "/pins", pin.dump());
  if (!reply.ok()) return reply.status();
  return ParsePinStatus(*reply);
}

absl::StatusOr<std::string> PinningServiceBackend::Upload(
    absl::string_view content, absl::string_view /*filename*/) {
  return ErrorWithReason(
      absl::StatusCode::kUnimplemented, "rejected",
      absl::StrCat("the IPFS Pinning Service API has no upload (",
                   content.size(),
                   " bytes not sent): pin by CID here and upload through "
                   "kubo or the car-store backend"));
}

absl::StatusOr<PinReceipt> PinningServiceBackend::StatusByRequestId(
    const std::string& request_id) {
  absl::StatusOr<nlohmann::json> reply =
      Call("GET", "/pins/" + QueryEscape(request_id), "");
  if (!reply.ok()) return reply.status();
  return ParsePinStatus(*reply);
}

absl::StatusOr<std::map<std::string, PinState>>
PinningServiceBackend::StatusMany(const std::vector<std::string>& cids) {
  std::map<std::string, PinState> states;
  // The service may spell a CID in another multibase: match canonically.
  std::map<std::string, std::string> asked;
  for (const std::string& cid : cids) asked.emplace(Canonical(cid), cid);
  const int limit = std::clamp(options_.page_limit, 1, 1000);
  for (size_t begin = 0; begin < cids.size(); begin += kMaxCidsPerQuery) {
    const size_t end = std::min(cids.size(), begin + kMaxCidsPerQuery);
    std::vector<std::string> chunk;
    for (size_t i = begin; i < end; ++i) chunk.push_back(QueryEscape(cids[i]));
    const std::string filter =
        absl::StrCat("/pins?cid=", absl::StrJoin(chunk, ","),
                     "&status=", kAllStatuses, "&limit=", limit);
    std::string before;
    int64_t total = -1;  // the first page's count: the whole result set
    int64_t seen = 0;
    for (int pages = 1;; ++pages) {
      if (pages > kMaxPagesPerQuery) {
        return ErrorWithReason(
            absl::StatusCode::kUnavailable, "backend_invalid",
            absl::StrCat("pinning service: GET /pins still paging after ",
                         kMaxPagesPerQuery, " pages (", seen, " of ", total,
                         " results) for ", end - begin, " CIDs"));
      }
      absl::StatusOr<nlohmann::json> page =
          Call("GET",
               before.empty()
                   ? filter
                   : absl::StrCat(filter, "&before=", QueryEscape(before)),
               "");
      if (!page.ok()) return page.status();
      const nlohmann::json& results = JsonField(*page, "results");
      const nlohmann::json& count = JsonField(*page, "count");
      if (!results.is_array() || !count.is_number_integer()) {
        return ErrorWithReason(absl::StatusCode::kUnavailable,
                               "backend_invalid",
                               "pinning service: PinResults without "
                               "count/results");
      }
      if (total < 0) total = count.get<int64_t>();
      std::string last_created;
      for (const nlohmann::json& result : results) {
        absl::StatusOr<PinReceipt> receipt = ParsePinStatus(result);
        if (!receipt.ok()) return receipt.status();
        if (JsonField(result, "created").is_string()) {
          last_created = JsonField(result, "created").get<std::string>();
        }
        const nlohmann::json& cid = JsonField(JsonField(result, "pin"), "cid");
        if (!cid.is_string()) continue;
        auto it = asked.find(Canonical(cid.get<std::string>()));
        if (it == asked.end()) continue;  // not one we asked about
        auto [state, inserted] = states.emplace(it->second, receipt->state);
        if (!inserted && Rank(receipt->state) > Rank(state->second)) {
          state->second = receipt->state;
        }
      }
      seen += static_cast<int64_t>(results.size());
      if (results.empty() || seen >= total ||
          results.size() < static_cast<size_t>(limit) || last_created.empty() ||
          last_created == before) {
        break;
      }
      before = last_created;
    }
  }
  return states;
}

absl::StatusOr<PinState> PinningServiceBackend::Status(const std::string& cid) {
  absl::StatusOr<std::map<std::string, PinState>> states = StatusMany({cid});
  if (!states.ok()) return states.status();
  auto it = states->find(cid);
  return it == states->end() ? PinState::kFailed : it->second;
}

}  // namespace niftysave::ipfs
