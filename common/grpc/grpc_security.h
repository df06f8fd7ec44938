#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace niftysave {

// What a token lets its caller do. `operate` (anything that changes state)
// implies `read` (the pure queries, see RequiredScope).
enum class Scope { kRead = 0, kOperate = 1 };

// One line of the tokens file. Only the token's SHA-256 is kept, so the
// secret itself never sits in memory after start-up nor reaches a log.
struct CallerToken {
  std::string caller;
  Scope scope = Scope::kRead;
  std::array<uint8_t, 32> sha256{};
};

// The SHA-256 a token is known by.
std::array<uint8_t, 32> TokenDigest(absl::string_view token);

// Tokens are at least this long (a guessable token is no token).
inline constexpr size_t kMinTokenBytes = 16;

// Parses a tokens file: one `<scope> <caller-name> <token>` per line
// (scope: read or operate; caller: [A-Za-z0-9._-]+, used in logs and
// metrics; token: printable ASCII, no spaces, >= 16 bytes). Blank lines and
// lines starting with # are skipped. A caller may hold several tokens (for
// rotation); a token may appear only once. Errors name the line, never the
// token.
absl::StatusOr<std::vector<CallerToken>> ParseTokens(absl::string_view text);

// A file named by a flag; errors name both.
struct FlagFile {
  std::string flag;  // "grpc_tls_cert"
  std::string path;  // empty: not set
};

// A server's transport security, read and checked once at start-up.
struct GrpcServerSecurity {
  std::string tls_cert_pem;  // empty: plaintext, as before
  std::string tls_key_pem;
  std::string client_ca_pem;        // set: mTLS, client certificates required
  std::vector<CallerToken> tokens;  // empty: no token check
  // host:port of a second, plaintext listener serving grpc.health.v1 only,
  // for probes that cannot speak TLS (the kubelet's gRPC probes); empty:
  // none.
  std::string health_listen;
  bool tls() const { return !tls_cert_pem.empty(); }
};

// Reads and checks the files: each must exist, be readable and hold PEM of
// the right kind (the key must match the certificate). Tokens need TLS: a
// bearer token over plaintext can be read by anyone on the path, and gRPC
// runs an AuthMetadataProcessor only on secure credentials. Errors read
// "--flag: path: what is wrong".
absl::StatusOr<GrpcServerSecurity> LoadServerSecurity(const FlagFile& cert,
                                                      const FlagFile& key,
                                                      const FlagFile& client_ca,
                                                      const FlagFile& tokens);

// Exits 2 with a Load*Security error, which starts "--flag: ".
[[noreturn]] void DieWithSecurityConfigError(const absl::Status& status);

// How a client reaches our services.
struct GrpcClientSecurity {
  std::string ca_pem;    // empty: plaintext, as before
  std::string cert_pem;  // with key_pem: client certificate for mTLS
  std::string key_pem;
  std::string token;  // empty: no authorization header
};

// Reads and checks the files like LoadServerSecurity. The token file holds
// one token (surrounding whitespace ignored); it needs a CA, since gRPC
// sends call credentials only over TLS.
absl::StatusOr<GrpcClientSecurity> LoadClientSecurity(const FlagFile& ca,
                                                      const FlagFile& cert,
                                                      const FlagFile& key,
                                                      const FlagFile& token);

// Channel credentials: TLS verified against ca_pem (plus the client
// certificate, if any) and the token as `authorization: Bearer <token>` on
// every call; insecure when ca_pem is empty.
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(
    const GrpcClientSecurity& security);

}  // namespace niftysave
