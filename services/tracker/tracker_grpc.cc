#include "services/tracker/tracker_grpc.h"

#include <algorithm>
#include <optional>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/request_ids.h"
#include "common/grpc/status.h"
#include "services/tracker/token_query.h"

namespace niftysave::tracker {
namespace {

v1::TokenStatus TokenStatusOf(const std::string& s) {
  if (s == "queued") return v1::TOKEN_STATUS_QUEUED;
  if (s == "extracted") return v1::TOKEN_STATUS_EXTRACTED;
  if (s == "archived") return v1::TOKEN_STATUS_ARCHIVED;
  if (s == "failed") return v1::TOKEN_STATUS_FAILED;
  if (s == "partial") return v1::TOKEN_STATUS_PARTIAL;
  return v1::TOKEN_STATUS_UNSPECIFIED;
}

// The filter value of a TokenStatus: "" for UNSPECIFIED (any); nullopt for a
// value this server does not know.
std::optional<std::string> TokenStatusName(v1::TokenStatus s) {
  switch (s) {
    case v1::TOKEN_STATUS_UNSPECIFIED:
      return "";
    case v1::TOKEN_STATUS_QUEUED:
      return "queued";
    case v1::TOKEN_STATUS_EXTRACTED:
      return "extracted";
    case v1::TOKEN_STATUS_ARCHIVED:
      return "archived";
    case v1::TOKEN_STATUS_FAILED:
      return "failed";
    case v1::TOKEN_STATUS_PARTIAL:
      return "partial";
    default:
      return std::nullopt;
  }
}

void KeyToProto(const eth::TokenKey& key, v1::TokenKey* out) {
  out->set_chain_id(key.chain_id);
  out->set_contract(key.ContractHex());
  out->set_token_id(key.token_id);
}

void ReasonsToProto(const std::vector<std::pair<std::string, int64_t>>& counts,
                    google::protobuf::RepeatedPtrField<v1::ReasonCount>* out) {
  for (const auto& [reason, n] : counts) {
    v1::ReasonCount* c = out->Add();
    c->set_reason(reason);
    c->set_count(static_cast<uint64_t>(n));
  }
}

void StatsToProto(const FunnelStats& stats, v1::Stats* out) {
  out->set_indexed(static_cast<uint64_t>(stats.indexed));
  out->set_metadata_fetched(static_cast<uint64_t>(stats.metadata_fetched));
  out->set_archived(static_cast<uint64_t>(stats.archived));
  out->set_failed(static_cast<uint64_t>(stats.failed));
  out->set_partial(static_cast<uint64_t>(stats.partial));
  for (const auto& [reason, n] : stats.failures) {
    v1::ReasonCount* c = out->add_failures();
    c->set_reason(reason);
    c->set_count(static_cast<uint64_t>(n));
  }
  for (const auto& [status, n] : stats.resources) {
    v1::StatusCount* c = out->add_resources();
    c->set_status(status);
    c->set_count(static_cast<uint64_t>(n));
  }
  for (const auto& [status, n] : stats.pins) {
    v1::StatusCount* c = out->add_pins();
    c->set_status(status);
    c->set_count(static_cast<uint64_t>(n));
  }
  out->set_computed_at(stats.computed_at);
}

// Counts an open WatchProgress stream for as long as it lives.
class StreamSlot {
 public:
  explicit StreamSlot(std::atomic<int>& open) : open_(open) { ++open_; }
  ~StreamSlot() { --open_; }
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;

 private:
  std::atomic<int>& open_;
};

v1::ResourceStatus ResourceStatusOf(const std::string& s) {
  if (s == "queued") return v1::RESOURCE_STATUS_QUEUED;
  if (s == "pinning") return v1::RESOURCE_STATUS_PINNING;
  if (s == "pinned") return v1::RESOURCE_STATUS_PINNED;
  if (s == "failed") return v1::RESOURCE_STATUS_FAILED;
  return v1::RESOURCE_STATUS_UNSPECIFIED;
}

v1::PinStatus PinStatusOf(const std::string& s) {
  if (s == "queued") return v1::PIN_STATUS_QUEUED;
  if (s == "pinning") return v1::PIN_STATUS_PINNING;
  if (s == "pinned") return v1::PIN_STATUS_PINNED;
  if (s == "failed") return v1::PIN_STATUS_FAILED;
  return v1::PIN_STATUS_UNSPECIFIED;
}

void SetFailure(const std::string& reason, const std::string& detail,
                v1::Failure* out) {
  out->set_reason(reason);
  out->set_detail(detail);
}

void ResourceToProto(const ResourceView& r, v1::Resource* out) {
  out->set_uri(r.uri);
  out->set_normalized(r.normalized);
  out->set_cid(r.cid);
  out->set_path(r.path);
  out->set_status(ResourceStatusOf(r.status));
  if (!r.reason.empty()) SetFailure(r.reason, r.detail, out->mutable_failure());
  if (r.size >= 0) out->set_size(static_cast<uint64_t>(r.size));
  out->set_content_type(r.content_type);
  for (const PinView& p : r.pins) {
    v1::Pin* pin = out->add_pins();
    pin->set_backend(p.backend);
    pin->set_cid(p.cid);
    pin->set_status(PinStatusOf(p.status));
    if (!p.reason.empty())
      SetFailure(p.reason, p.detail, pin->mutable_failure());
    pin->set_updated_at(p.updated_at);
  }
}

}  // namespace

namespace {

// What one answer may carry: under every gRPC client's 4 MiB default.
constexpr size_t kMaxAnswerBytes = 3 << 20;

template <typename Proto>
void SetTokenUri(const std::string& uri, int64_t length,
                 const std::string& sha256_hex, Proto* out) {
  out->set_token_uri(uri);
  out->set_token_uri_length(
      static_cast<uint64_t>(std::max<int64_t>(0, length)));
  if (!sha256_hex.empty()) {
    out->set_token_uri_truncated(true);
    out->set_token_uri_sha256(absl::HexStringToBytes(sha256_hex));
  }
}

// Drops assets from the end until the report fits kMaxAnswerBytes.
void FitReport(v1::TokenStatusReport* out) {
  size_t size = out->ByteSizeLong();
  while (size > kMaxAnswerBytes && out->assets_size() > 0) {
    const v1::Asset& last = out->assets(out->assets_size() - 1);
    size -= std::min(size, last.ByteSizeLong() + 8);
    out->mutable_assets()->RemoveLast();
    out->set_assets_truncated(true);
  }
}

}  // namespace

void ToProto(const TokenReport& report, v1::TokenStatusReport* out) {
  KeyToProto(report.key, out->mutable_token());
  SetTokenUri(report.token_uri, report.token_uri_length,
              report.token_uri_sha256, out);
  if (report.assets_truncated) out->set_assets_truncated(true);
  out->set_status(TokenStatusOf(report.status));
  if (!report.reason.empty())
    SetFailure(report.reason, report.detail, out->mutable_failure());
  if (report.metadata)
    ResourceToProto(*report.metadata, out->mutable_metadata());
  out->set_metadata_sha256_verified(report.metadata_verified);
  for (const AssetView& a : report.assets) {
    v1::Asset* asset = out->add_assets();
    asset->set_json_path(a.json_path);
    asset->set_sha256_verified(a.verified);
    ResourceToProto(a.resource, asset->mutable_resource());
  }
  if (!report.owner.empty()) out->set_owner("0x" + report.owner);
  out->set_mint_block(report.mint_block);
}

void ToProto(const ContractStatus& status, v1::ContractStatus* out) {
  out->set_chain_id(status.chain_id);
  out->set_contract("0x" + status.contract);
  out->set_standard(status.standard);
  out->set_name(status.name);
  out->set_symbol(status.symbol);
  out->set_indexed(static_cast<uint64_t>(status.indexed));
  out->set_in_progress(static_cast<uint64_t>(status.in_progress()));
  out->set_queued(static_cast<uint64_t>(status.queued));
  out->set_extracted(static_cast<uint64_t>(status.extracted));
  out->set_archived(static_cast<uint64_t>(status.archived));
  out->set_partial(static_cast<uint64_t>(status.partial));
  out->set_failed(static_cast<uint64_t>(status.failed));
  ReasonsToProto(status.failures, out->mutable_failures());
  ReasonsToProto(status.partial_failures, out->mutable_partial_failures());
  out->set_computed_at(status.computed_at);
}

grpc::Status TrackerServiceImpl::Track(grpc::ServerContext*,
                                       const v1::TrackRequest* request,
                                       v1::TrackResponse* response) {
  absl::StatusOr<std::vector<int64_t>> ids = ParseRequestIds(
      request->pin_ids(), api::kMaxTrackPinIdsPerCall, "pin ids");
  if (!ids.ok()) return ToGrpcStatus(ids.status());
  auto counts = repo_.Enqueue(*ids);
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  response->set_queued(counts->first);
  response->set_unknown(counts->second);
  if (counts->first > 0) wake_(counts->first);
  return grpc::Status::OK;
}

grpc::Status TrackerServiceImpl::GetTokenStatus(
    grpc::ServerContext*, const v1::GetTokenStatusRequest* request,
    v1::TokenStatusReport* response) {
  const v1::TokenKey& k = request->token();
  absl::StatusOr<eth::TokenKey> key =
      eth::ParseTokenKey(k.chain_id(), k.contract(), k.token_id());
  if (!key.ok()) return ToGrpcStatus(key.status());
  absl::StatusOr<std::optional<TokenReport>> report =
      repo_.GetTokenReport(*key);
  if (!report.ok()) return ToGrpcStatus(report.status());
  if (!report->has_value()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such token indexed");
  }
  ToProto(**report, response);
  FitReport(response);
  return grpc::Status::OK;
}

grpc::Status TrackerServiceImpl::BatchGetTokenStatus(
    grpc::ServerContext*, const v1::BatchGetTokenStatusRequest* request,
    v1::BatchGetTokenStatusResponse* response) {
  absl::StatusOr<std::vector<eth::TokenKey>> parsed =
      ParseRequestTokenKeys(request->tokens(), 1, kMaxBatchKeys);
  if (!parsed.ok()) return ToGrpcStatus(parsed.status());
  const std::vector<eth::TokenKey>& keys = *parsed;
  auto reports = repo_.GetTokenReports(keys);
  if (!reports.ok()) return ToGrpcStatus(reports.status());
  size_t size = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!(*reports)[i].has_value()) {
      KeyToProto(keys[i], response->add_not_found());
      continue;
    }
    v1::TokenStatusReport report;
    ToProto(*(*reports)[i], &report);
    FitReport(&report);
    const size_t bytes = report.ByteSizeLong() + 8;
    if (size + bytes > kMaxAnswerBytes) {
      KeyToProto(keys[i], response->add_not_returned());
      continue;
    }
    size += bytes;
    *response->add_reports() = std::move(report);
  }
  return grpc::Status::OK;
}

grpc::Status TrackerServiceImpl::ListTokens(
    grpc::ServerContext*, const v1::ListTokensRequest* request,
    v1::ListTokensResponse* response) {
  std::optional<std::string> status = TokenStatusName(request->status());
  if (!status) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("status: unknown value ",
                                     static_cast<int>(request->status())));
  }
  absl::StatusOr<TokenListQuery> query =
      MakeTokenListQuery(request->chain_id(), request->contract(), *status,
                         request->page_size(), request->page_token());
  if (!query.ok()) return ToGrpcStatus(query.status());
  absl::StatusOr<TokenPage> page = repo_.ListTokens(*query);
  if (!page.ok()) return ToGrpcStatus(page.status());
  size_t size = 0;
  int64_t next_after_id = page->next_after_id;
  for (size_t i = 0; i < page->tokens.size(); ++i) {
    const TokenSummaryView& t = page->tokens[i];
    v1::TokenSummary out;
    KeyToProto(t.key, out.mutable_token());
    SetTokenUri(t.token_uri, t.token_uri_length, t.token_uri_sha256, &out);
    out.set_status(TokenStatusOf(t.status));
    if (!t.reason.empty())
      SetFailure(t.reason, t.detail, out.mutable_failure());
    out.set_updated_at(t.updated_at);
    const size_t bytes = out.ByteSizeLong() + 8;
    if (i > 0 && size + bytes > kMaxAnswerBytes) {
      // The rest on the next page, from the last token this one holds.
      next_after_id = page->tokens[i - 1].id;
      break;
    }
    size += bytes;
    *response->add_tokens() = std::move(out);
  }
  if (next_after_id > 0)
    response->set_next_page_token(EncodePageToken(next_after_id));
  return grpc::Status::OK;
}

grpc::Status TrackerServiceImpl::GetStats(grpc::ServerContext*,
                                          const v1::GetStatsRequest* request,
                                          v1::Stats* response) {
  if (request->chain_id() > INT64_MAX) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "chain_id: out of range");
  }
  absl::StatusOr<std::shared_ptr<const FunnelCounts>> counts = funnel_.Get();
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  StatsToProto(StatsFor(**counts, request->chain_id()), response);
  return grpc::Status::OK;
}

grpc::Status TrackerServiceImpl::WatchProgress(
    grpc::ServerContext* context, const v1::WatchProgressRequest* request,
    grpc::ServerWriter<v1::Stats>* writer) {
  absl::StatusOr<absl::Duration> interval =
      WatchInterval(request->interval_seconds());
  if (!interval.ok()) return ToGrpcStatus(interval.status());
  StreamSlot slot(watch_streams_);
  if (watch_streams_.load() > options_.max_watch_streams) {
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("at most ", options_.max_watch_streams,
                     " WatchProgress streams at a time; try again later"));
  }
  do {
    absl::StatusOr<std::shared_ptr<const FunnelCounts>> counts = funnel_.Get();
    if (!counts.ok()) return ToGrpcStatus(counts.status());
    v1::Stats out;
    StatsToProto(StatsFor(**counts, 0), &out);
    if (!writer->Write(out)) break;  // the client went away
  } while (WaitWhileWatched(*context, *interval));
  return grpc::Status::OK;
}

grpc::Status TrackerServiceImpl::GetContractStatus(
    grpc::ServerContext*, const v1::GetContractStatusRequest* request,
    v1::ContractStatus* response) {
  if (options_.contract_status == nullptr) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "GetContractStatus is not served by this tracker");
  }
  absl::StatusOr<ContractRef> ref =
      ParseContractRef(request->chain_id(), request->contract());
  if (!ref.ok()) return ToGrpcStatus(ref.status());
  absl::StatusOr<std::optional<ContractStatus>> status =
      options_.contract_status->Get(*ref);
  if (!status.ok()) return ToGrpcStatus(status.status());
  if (!status->has_value()) {
    return grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("contract 0x", ref->contract, " is not indexed on chain ",
                     ref->chain_id));
  }
  ToProto(**status, response);
  return grpc::Status::OK;
}

bool TrackerServiceImpl::WaitWhileWatched(grpc::ServerContext& context,
                                          absl::Duration d) {
  const absl::Time until = absl::Now() + d;
  while (!context.IsCancelled()) {
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) return true;
    const absl::Duration step = std::min(left, absl::Milliseconds(100));
    if (options_.shutdown != nullptr) {
      if (options_.shutdown->WaitForNotificationWithTimeout(step)) return false;
    } else {
      absl::SleepFor(step);
    }
  }
  return false;
}

}  // namespace niftysave::tracker
