// Kept apart from the client flags so binaries that only call (the CLI) do
// not list server flags.
#include "absl/flags/flag.h"
#include "common/grpc/grpc_security_flags.h"
#include "common/runtime/flags.h"
#include "common/runtime/log.h"

ABSL_FLAG(std::string, grpc_tls_cert, "",
          "PEM certificate chain the gRPC server presents (with "
          "--grpc_tls_key); empty: plaintext");
ABSL_FLAG(std::string, grpc_tls_key, "", "PEM private key of --grpc_tls_cert");
ABSL_FLAG(std::string, grpc_tls_client_ca, "",
          "PEM CA; when set, gRPC clients must present a certificate it "
          "signed (mTLS)");
ABSL_FLAG(
    std::string, grpc_tokens_file, "",
    "caller tokens, one `<read|operate> <caller-name> <token>` a line; "
    "when set, every call but health and reflection needs `authorization: "
    "Bearer <token>` (needs --grpc_tls_cert)");

ABSL_FLAG(std::string, grpc_health_listen, "",
          "host:port of a plaintext listener serving grpc.health.v1 only, for "
          "probes that cannot speak TLS (the kubelet's); empty: none");

namespace niftysave {

GrpcServerSecurity GrpcServerSecurityFromFlags() {
  absl::StatusOr<GrpcServerSecurity> security = LoadServerSecurity(
      {"grpc_tls_cert", absl::GetFlag(FLAGS_grpc_tls_cert)},
      {"grpc_tls_key", absl::GetFlag(FLAGS_grpc_tls_key)},
      {"grpc_tls_client_ca", absl::GetFlag(FLAGS_grpc_tls_client_ca)},
      {"grpc_tokens_file", absl::GetFlag(FLAGS_grpc_tokens_file)});
  if (!security.ok()) DieWithSecurityConfigError(security.status());
  security->health_listen = absl::GetFlag(FLAGS_grpc_health_listen);
  log::Info("gRPC security",
            {{"tls", security->tls() ? "on" : "off"},
             {"mtls", security->client_ca_pem.empty() ? "off" : "on"},
             {"tokens", std::to_string(security->tokens.size())}});
  return *std::move(security);
}

}  // namespace niftysave
