#include "services/tracker/tracker_grpc.h"

#include "common/grpc/request_ids.h"
#include "common/grpc/status.h"

namespace niftysave::tracker {
namespace {

v1::TokenStatus TokenStatusOf(const std::string& s) {
  if (s == "queued") return v1::TOKEN_STATUS_QUEUED;
  if (s == "extracted") return v1::TOKEN_STATUS_EXTRACTED;
  if (s == "archived") return v1::TOKEN_STATUS_ARCHIVED;
  if (s == "failed") return v1::TOKEN_STATUS_FAILED;
  return v1::TOKEN_STATUS_UNSPECIFIED;
}

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

void ToProto(const TokenReport& report, v1::TokenStatusReport* out) {
  out->mutable_token()->set_chain_id(report.key.chain_id);
  out->mutable_token()->set_contract(report.key.ContractHex());
  out->mutable_token()->set_token_id(report.key.token_id);
  out->set_token_uri(report.token_uri);
  out->set_status(TokenStatusOf(report.status));
  if (!report.reason.empty())
    SetFailure(report.reason, report.detail, out->mutable_failure());
  if (report.metadata)
    ResourceToProto(*report.metadata, out->mutable_metadata());
  for (const AssetView& a : report.assets) {
    v1::Asset* asset = out->add_assets();
    asset->set_json_path(a.json_path);
    ResourceToProto(a.resource, asset->mutable_resource());
  }
  if (!report.owner.empty()) out->set_owner("0x" + report.owner);
  out->set_mint_block(report.mint_block);
}

grpc::Status TrackerServiceImpl::Track(grpc::ServerContext*,
                                       const v1::TrackRequest* request,
                                       v1::TrackResponse* response) {
  absl::StatusOr<std::vector<int64_t>> ids =
      ParseRequestIds(request->pin_ids(), 1000, "pin ids");
  if (!ids.ok()) return ToGrpcStatus(ids.status());
  auto counts = repo_.Enqueue(*ids);
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  response->set_queued(counts->first);
  response->set_unknown(counts->second);
  if (counts->first > 0) wake_();
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
  return grpc::Status::OK;
}

}  // namespace niftysave::tracker
