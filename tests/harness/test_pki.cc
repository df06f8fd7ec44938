#include "tests/harness/test_pki.h"

#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/harness/subprocess.h"

namespace niftysave::harness {
namespace {

absl::Status Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  absl::StatusOr<std::string> out = RunCommand(args, absl::Seconds(30));
  return out.ok() ? absl::OkStatus() : out.status();
}

absl::Status SelfSignedCa(const std::string& dir, const std::string& name) {
  return Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                  "-subj", "/CN=" + name, "-keyout", dir + "/" + name + ".key",
                  "-out", dir + "/" + name + ".pem"});
}

// A key and a certificate for `name` signed by the CA "ca", with `san`.
absl::Status Signed(const std::string& dir, const std::string& name,
                    const std::string& extensions) {
  const std::string base = dir + "/" + name;
  absl::Status s =
      Openssl({"req", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + name,
               "-keyout", base + ".key", "-out", base + ".csr"});
  if (!s.ok()) return s;
  std::ofstream(base + ".ext") << extensions << "\n";
  return Openssl({"x509", "-req", "-in", base + ".csr", "-CA", dir + "/ca.pem",
                  "-CAkey", dir + "/ca.key", "-CAcreateserial", "-days", "2",
                  "-extfile", base + ".ext", "-out", base + ".pem"});
}

}  // namespace

absl::StatusOr<TestPki> MakeTestPki(const std::string& dir) {
  for (absl::Status s :
       {SelfSignedCa(dir, "ca"), SelfSignedCa(dir, "other-ca"),
        Signed(dir, "server",
               "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
               "extendedKeyUsage=serverAuth"),
        Signed(dir, "client", "extendedKeyUsage=clientAuth")}) {
    if (!s.ok()) return s;
  }
  return TestPki{.ca_cert = dir + "/ca.pem",
                 .server_cert = dir + "/server.pem",
                 .server_key = dir + "/server.key",
                 .client_cert = dir + "/client.pem",
                 .client_key = dir + "/client.key",
                 .other_ca_cert = dir + "/other-ca.pem"};
}

}  // namespace niftysave::harness
