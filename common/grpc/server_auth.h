#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/grpc/grpc_security.h"
#include "common/metrics/metrics.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/security/server_credentials.h"

namespace niftysave {

// The scope a method ("/niftysave.v1.Tracker/GetStats") needs: `read` for
// the pure queries listed in server_auth.cc, `operate` for every other method
// (deny by default: a new method is an operate method until it is listed),
// none (nullopt) for health checking and reflection, which the kubelet's
// probes and operators' tools call without a token.
std::optional<Scope> RequiredScope(absl::string_view method);

// The methods listed as read, for a test that each one exists.
std::vector<std::string> ReadMethods();

// Checks `authorization: Bearer <token>` on every call before the handler
// runs: no or unknown token -> UNAUTHENTICATED, a scope short of the
// method's -> PERMISSION_DENIED. The token is compared in constant time
// against every known one. Denials are logged with the caller's name (never
// the token) and counted in niftysave_<service>_grpc_denied_total{reason,
// caller}.
class TokenAuthProcessor final : public grpc::AuthMetadataProcessor {
 public:
  TokenAuthProcessor(std::vector<CallerToken> tokens, Metrics& metrics);

  // Cheap (a hash and a few compares), so it runs on gRPC's own thread.
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  grpc::Status Deny(grpc::StatusCode code, absl::string_view reason,
                    absl::string_view caller, absl::string_view method,
                    std::string message);

  const std::vector<CallerToken> tokens_;
  prometheus::Family<prometheus::Counter>& denied_;
};

// TLS (and mTLS) credentials with the token check when tokens are set;
// insecure when no certificate is.
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const GrpcServerSecurity& security, Metrics& metrics);

}  // namespace niftysave
