#include "common/grpc/grpc_security.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/runtime/flags.h"

namespace niftysave {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

absl::Status FileError(const FlagFile& file, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", file.flag, ": ", file.path, ": ", what));
}

absl::StatusOr<std::string> ReadSmallFile(const FlagFile& file) {
  std::ifstream in(file.path, std::ios::binary);
  if (!in) return FileError(file, "cannot be read (missing or no access)");
  // Read at most one byte over the cap: a flag pointed at a huge file (or
  // /dev/zero) is refused without reading it all.
  std::string body(kMaxFileBytes + 1, '\0');
  in.read(body.data(), static_cast<std::streamsize>(body.size()));
  if (in.bad()) return FileError(file, "read failed");
  body.resize(static_cast<size_t>(in.gcount()));
  if (body.size() > kMaxFileBytes) return FileError(file, "over 1 MiB");
  return body;
}

// Counts the certificates in `pem`; 0 when there is none or one is broken.
int CountCertificates(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  int count = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_free(cert);
    ++count;
  }
  BIO_free(bio);
  return count;
}

absl::StatusOr<std::string> ReadCertificates(const FlagFile& file) {
  absl::StatusOr<std::string> pem = ReadSmallFile(file);
  if (!pem.ok()) return pem.status();
  if (CountCertificates(*pem) == 0)
    return FileError(file, "holds no PEM certificate");
  return pem;
}

// Reads a private key and checks it belongs to the (first) certificate of
// `cert_pem`, so a mismatched pair fails here rather than at the handshake.
absl::StatusOr<std::string> ReadKeyFor(const FlagFile& file,
                                       const std::string& cert_pem) {
  absl::StatusOr<std::string> pem = ReadSmallFile(file);
  if (!pem.ok()) return pem.status();
  BIO* key_bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  if (key == nullptr) return FileError(file, "holds no PEM private key");
  BIO* cert_bio =
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  const bool matches = cert != nullptr && X509_check_private_key(cert, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!matches) return FileError(file, "does not match the certificate");
  return pem;
}

bool IsTokenByte(char c) { return c > ' ' && c < 0x7f; }

bool IsCallerName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-')
      return false;
  }
  return true;
}

absl::Status LineError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", what));
}

}  // namespace

std::array<uint8_t, 32> TokenDigest(absl::string_view token) {
  std::array<uint8_t, 32> digest{};
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), digest.data(), &len, EVP_sha256(),
             nullptr);
  return digest;
}

// What a token must be, in the tokens file and in a client's token file:
// "" when it is one, else what is wrong with it.
std::string TokenProblem(absl::string_view token) {
  if (token.size() < kMinTokenBytes) {
    return absl::StrCat("token shorter than ", kMinTokenBytes, " bytes");
  }
  for (char c : token) {
    if (!IsTokenByte(c)) return "token holds a space or a non-printable byte";
  }
  return "";
}

// The certificate and key of one side, both or neither; the key must match
// the certificate.
struct CertAndKey {
  std::string cert_pem, key_pem;
};
absl::StatusOr<std::optional<CertAndKey>> LoadCertAndKey(const FlagFile& cert,
                                                         const FlagFile& key) {
  if (cert.path.empty() != key.path.empty()) {
    const FlagFile& missing = cert.path.empty() ? cert : key;
    return absl::InvalidArgumentError(
        absl::StrCat("--", missing.flag, ": required with --",
                     cert.path.empty() ? key.flag : cert.flag));
  }
  if (cert.path.empty()) return std::nullopt;
  absl::StatusOr<std::string> cert_pem = ReadCertificates(cert);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadKeyFor(key, *cert_pem);
  if (!key_pem.ok()) return key_pem.status();
  return CertAndKey{*std::move(cert_pem), *std::move(key_pem)};
}

absl::StatusOr<std::vector<CallerToken>> ParseTokens(absl::string_view text) {
  std::vector<CallerToken> tokens;
  std::map<std::array<uint8_t, 32>, int> line_of;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 3)
      return LineError(line_number, "want <scope> <caller-name> <token>");
    CallerToken token;
    if (fields[0] == "read") {
      token.scope = Scope::kRead;
    } else if (fields[0] == "operate") {
      token.scope = Scope::kOperate;
    } else {
      return LineError(line_number, absl::StrCat("unknown scope '", fields[0],
                                                 "' (read or operate)"));
    }
    if (!IsCallerName(fields[1]))
      return LineError(line_number,
                       "caller name must be 1-64 of A-Z a-z 0-9 . _ -");
    token.caller = std::string(fields[1]);
    if (std::string problem = TokenProblem(fields[2]); !problem.empty())
      return LineError(line_number, problem);
    token.sha256 = TokenDigest(fields[2]);
    auto [it, inserted] = line_of.emplace(token.sha256, line_number);
    if (!inserted)
      return LineError(line_number,
                       absl::StrCat("same token as line ", it->second));
    tokens.push_back(std::move(token));
  }
  if (tokens.empty()) return absl::InvalidArgumentError("no tokens");
  return tokens;
}

absl::StatusOr<GrpcServerSecurity> LoadServerSecurity(const FlagFile& cert,
                                                      const FlagFile& key,
                                                      const FlagFile& client_ca,
                                                      const FlagFile& tokens) {
  GrpcServerSecurity security;
  absl::StatusOr<std::optional<CertAndKey>> pair = LoadCertAndKey(cert, key);
  if (!pair.ok()) return pair.status();
  if (pair->has_value()) {
    security.tls_cert_pem = std::move((*pair)->cert_pem);
    security.tls_key_pem = std::move((*pair)->key_pem);
  }
  if (!client_ca.path.empty()) {
    if (!security.tls())
      return FileError(client_ca, absl::StrCat("needs --", cert.flag));
    absl::StatusOr<std::string> ca_pem = ReadCertificates(client_ca);
    if (!ca_pem.ok()) return ca_pem.status();
    security.client_ca_pem = *std::move(ca_pem);
  }
  if (!tokens.path.empty()) {
    if (!security.tls()) {
      return FileError(tokens, absl::StrCat("needs --", cert.flag,
                                            ": tokens over plaintext can be "
                                            "read by anyone on the path"));
    }
    absl::StatusOr<std::string> text = ReadSmallFile(tokens);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::vector<CallerToken>> parsed = ParseTokens(*text);
    if (!parsed.ok()) return FileError(tokens, parsed.status().message());
    security.tokens = *std::move(parsed);
  }
  return security;
}

absl::StatusOr<GrpcClientSecurity> LoadClientSecurity(const FlagFile& ca,
                                                      const FlagFile& cert,
                                                      const FlagFile& key,
                                                      const FlagFile& token) {
  GrpcClientSecurity security;
  if (!ca.path.empty()) {
    absl::StatusOr<std::string> ca_pem = ReadCertificates(ca);
    if (!ca_pem.ok()) return ca_pem.status();
    security.ca_pem = *std::move(ca_pem);
  }
  if (!cert.path.empty() && security.ca_pem.empty())
    return FileError(cert, absl::StrCat("needs --", ca.flag));
  absl::StatusOr<std::optional<CertAndKey>> pair = LoadCertAndKey(cert, key);
  if (!pair.ok()) return pair.status();
  if (pair->has_value()) {
    security.cert_pem = std::move((*pair)->cert_pem);
    security.key_pem = std::move((*pair)->key_pem);
  }
  if (!token.path.empty()) {
    if (security.ca_pem.empty()) {
      return FileError(token,
                       absl::StrCat("needs --", ca.flag,
                                    ": gRPC sends tokens only over TLS"));
    }
    absl::StatusOr<std::string> text = ReadSmallFile(token);
    if (!text.ok()) return text.status();
    absl::string_view value = absl::StripAsciiWhitespace(*text);
    if (std::string problem = TokenProblem(value); !problem.empty())
      return FileError(token, problem);
    security.token = std::string(value);
  }
  return security;
}

void DieWithSecurityConfigError(const absl::Status& status) {
  absl::string_view message = status.message();
  absl::ConsumePrefix(&message, "--");
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos) DieWithConfigError("grpc", message);
  DieWithConfigError(message.substr(0, colon), message.substr(colon + 2));
}

namespace {

// Adds the bearer token to every call's metadata.
class BearerTokenPlugin final : public grpc::MetadataCredentialsPlugin {
 public:
  explicit BearerTokenPlugin(std::string token)
      : header_(absl::StrCat("Bearer ", token)) {}
  bool IsBlocking() const override { return false; }
  grpc::Status GetMetadata(
      grpc::string_ref /*service_url*/, grpc::string_ref /*method_name*/,
      const grpc::AuthContext& /*channel_auth_context*/,
      std::multimap<grpc::string, grpc::string>* metadata) override {
    metadata->insert({"authorization", header_});
    return grpc::Status::OK;
  }

 private:
  const std::string header_;
};

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(
    const GrpcClientSecurity& security) {
  if (security.ca_pem.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = security.ca_pem;
  options.pem_private_key = security.key_pem;
  options.pem_cert_chain = security.cert_pem;
  std::shared_ptr<grpc::ChannelCredentials> tls = grpc::SslCredentials(options);
  if (security.token.empty()) return tls;
  return grpc::CompositeChannelCredentials(
      tls, grpc::MetadataCredentialsFromPlugin(
               std::make_unique<BearerTokenPlugin>(security.token)));
}

}  // namespace niftysave
