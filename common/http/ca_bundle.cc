#include "common/http/ca_bundle.h"

#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/runtime/log.h"

namespace niftysave::http {
namespace {

constexpr char kSystemCaBundle[] = "/etc/ssl/certs/ca-certificates.crt";

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The store every handle shares, as curl would build its own: the
// certificates of `files`, and partial chains allowed (an intermediate in a
// file is a trust anchor: curl's default, which it sets on the store it
// makes). Null when there is nothing to load or a file does not parse.
X509_STORE* LoadStore(const std::vector<std::string>& files) {
  if (files.empty()) return nullptr;
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr) return nullptr;
  bool loaded = X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) == 1;
  for (const std::string& file : files) {
    loaded = loaded && X509_STORE_load_file(store, file.c_str()) == 1;
  }
  if (!loaded) {
    X509_STORE_free(store);
    return nullptr;
  }
  return store;
}

}  // namespace

CaBundleFile::CaBundleFile(const std::string& ca_file) {
  const bool system = access(kSystemCaBundle, R_OK) == 0;
  std::vector<std::string> files;
  if (system) files.push_back(kSystemCaBundle);
  if (!ca_file.empty()) files.push_back(ca_file);
  store_ = LoadStore(files);
  if (store_ != nullptr || files.empty()) return;
  log::Warn(
      "cannot parse the CA certificates: each TLS connection loads them "
      "itself",
      {{"files", absl::StrJoin(files, ",")}});
  if (ca_file.empty()) {
    path_ = kSystemCaBundle;
    return;
  }
  // CURLOPT_CAINFO alone would replace the system's CAs: one file of both.
  const std::string pem =
      ReadFileOrEmpty(kSystemCaBundle) + "\n" + ReadFileOrEmpty(ca_file);
  char path[] = "/tmp/niftysave-ca-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return;
  size_t written = 0;
  while (written < pem.size()) {
    const ssize_t n = write(fd, pem.data() + written, pem.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  close(fd);
  if (written != pem.size()) {
    std::remove(path);
    return;
  }
  path_ = path;
  owned_ = true;
}

CaBundleFile::~CaBundleFile() {
  if (owned_) std::remove(path_.c_str());
  X509_STORE_free(store_);
}

}  // namespace niftysave::http
