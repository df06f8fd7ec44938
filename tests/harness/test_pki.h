#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace niftysave::harness {

// A throwaway PKI made with the openssl CLI at test time (no private key is
// ever committed): a CA, a server certificate it signed for 127.0.0.1 and
// localhost, a client certificate it signed, and a second, unrelated CA.
// Paths of PEM files inside `dir`.
struct TestPki {
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
  std::string other_ca_cert;
};

absl::StatusOr<TestPki> MakeTestPki(const std::string& dir);

}  // namespace niftysave::harness
