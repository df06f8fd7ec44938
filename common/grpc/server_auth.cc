#include "common/grpc/server_auth.h"

#include <openssl/crypto.h>

#include <array>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/runtime/log.h"
#include "common/runtime/utf8.h"
#include "niftysave/v1/indexer.grpc.pb.h"
#include "niftysave/v1/tracker.grpc.pb.h"

namespace niftysave {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

std::string Method(const char* service, absl::string_view name) {
  return absl::StrCat("/", service, "/", name);
}

// Answer from stored rows and change nothing.
const std::vector<std::string>& ReadMethodList() {
  static const auto* methods = new std::vector<std::string>{
      Method(v1::Tracker::service_full_name(), "GetTokenStatus"),
      Method(v1::Tracker::service_full_name(), "BatchGetTokenStatus"),
      Method(v1::Tracker::service_full_name(), "ListTokens"),
      Method(v1::Tracker::service_full_name(), "GetStats"),
      Method(v1::Tracker::service_full_name(), "WatchProgress"),
      Method(v1::Tracker::service_full_name(), "GetContractStatus"),
      Method(v1::Indexer::service_full_name(), "GetStatus"),
  };
  return *methods;
}

}  // namespace

std::optional<Scope> RequiredScope(absl::string_view method) {
  if (absl::StartsWith(method, "/grpc.health.v1.Health/") ||
      absl::StartsWith(method, "/grpc.reflection.v1alpha.ServerReflection/") ||
      absl::StartsWith(method, "/grpc.reflection.v1.ServerReflection/")) {
    return std::nullopt;
  }
  for (const std::string& read : ReadMethodList()) {
    if (method == read) return Scope::kRead;
  }
  return Scope::kOperate;
}

std::vector<std::string> ReadMethods() { return ReadMethodList(); }

TokenAuthProcessor::TokenAuthProcessor(std::vector<CallerToken> tokens,
                                       Metrics& metrics)
    : tokens_(std::move(tokens)),
      denied_(metrics.Counter(
          "grpc_denied_total",
          "gRPC calls refused by the token check, by reason (no_token, "
          "unknown_token, scope) and caller")) {}

grpc::Status TokenAuthProcessor::Process(
    const InputMetadata& auth_metadata, grpc::AuthContext* /*context*/,
    OutputMetadata* consumed_auth_metadata,
    OutputMetadata* /*response_metadata*/) {
  auto path = auth_metadata.find(":path");
  const absl::string_view method =
      path == auth_metadata.end()
          ? absl::string_view()
          : absl::string_view(path->second.data(), path->second.size());
  const std::optional<Scope> needed = RequiredScope(method);
  if (!needed.has_value()) return grpc::Status::OK;
  auto header = auth_metadata.find("authorization");
  absl::string_view value;
  if (header != auth_metadata.end())
    value = absl::string_view(header->second.data(), header->second.size());
  if (!absl::StartsWith(value, kBearer)) {
    return Deny(grpc::StatusCode::UNAUTHENTICATED, "no_token", "", method,
                "no token: send `authorization: Bearer <token>`");
  }
  // Every known token is compared, match or not, so the time taken says
  // nothing about which one (or how much of one) was close.
  const std::array<uint8_t, 32> digest =
      TokenDigest(value.substr(kBearer.size()));
  const CallerToken* match = nullptr;
  for (const CallerToken& token : tokens_) {
    if (CRYPTO_memcmp(token.sha256.data(), digest.data(), digest.size()) == 0)
      match = &token;
  }
  if (match == nullptr) {
    return Deny(grpc::StatusCode::UNAUTHENTICATED, "unknown_token", "", method,
                "unknown token");
  }
  if (match->scope < *needed) {
    return Deny(grpc::StatusCode::PERMISSION_DENIED, "scope", match->caller,
                method,
                absl::StrCat("caller ", match->caller,
                             " has the read scope; this method needs operate"));
  }
  // The handlers have no use for the token; keep it out of their reach.
  consumed_auth_metadata->insert({"authorization", std::string(value)});
  return grpc::Status::OK;
}

grpc::Status TokenAuthProcessor::Deny(grpc::StatusCode code,
                                      absl::string_view reason,
                                      absl::string_view caller,
                                      absl::string_view method,
                                      std::string message) {
  denied_
      .Add({{"reason", std::string(reason)}, {"caller", std::string(caller)}})
      .Increment();
  // The method comes from the caller: cut and made printable for the log.
  log::Warn("gRPC call denied",
            {{"reason", std::string(reason)},
             {"caller", caller.empty() ? "unknown" : std::string(caller)},
             {"method", ValidUtf8(method, 200)}});
  return grpc::Status(code, std::move(message));
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const GrpcServerSecurity& security, Metrics& metrics) {
  if (!security.tls()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      security.client_ca_pem.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = security.client_ca_pem;
  options.pem_key_cert_pairs.push_back(
      {security.tls_key_pem, security.tls_cert_pem});
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::SslServerCredentials(options);
  if (!security.tokens.empty()) {
    credentials->SetAuthMetadataProcessor(
        std::make_shared<TokenAuthProcessor>(security.tokens, metrics));
  }
  return credentials;
}

}  // namespace niftysave
