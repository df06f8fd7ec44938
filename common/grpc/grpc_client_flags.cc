#include "absl/flags/flag.h"
#include "common/grpc/grpc_security_flags.h"
#include "common/runtime/flags.h"

ABSL_FLAG(std::string, grpc_tls_ca, "",
          "PEM CA that our gRPC servers' certificates chain to; empty: "
          "plaintext calls");
ABSL_FLAG(std::string, grpc_tls_client_cert, "",
          "PEM client certificate for servers that require mTLS (with "
          "--grpc_tls_client_key)");
ABSL_FLAG(std::string, grpc_tls_client_key, "",
          "PEM private key of --grpc_tls_client_cert");
ABSL_FLAG(std::string, grpc_client_token_file, "",
          "file holding one token, sent as `authorization: Bearer` on every "
          "gRPC call (needs --grpc_tls_ca)");

namespace niftysave {

GrpcClientSecurity GrpcClientSecurityFromFlags() {
  absl::StatusOr<GrpcClientSecurity> security = LoadClientSecurity(
      {"grpc_tls_ca", absl::GetFlag(FLAGS_grpc_tls_ca)},
      {"grpc_tls_client_cert", absl::GetFlag(FLAGS_grpc_tls_client_cert)},
      {"grpc_tls_client_key", absl::GetFlag(FLAGS_grpc_tls_client_key)},
      {"grpc_client_token_file", absl::GetFlag(FLAGS_grpc_client_token_file)});
  if (!security.ok()) DieWithSecurityConfigError(security.status());
  return *std::move(security);
}

}  // namespace niftysave
