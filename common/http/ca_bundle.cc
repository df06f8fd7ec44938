#include "common/http/ca_bundle.h"

#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace niftysave::http {
namespace {

constexpr char kSystemCaBundle[] = "/etc/ssl/certs/ca-certificates.crt";

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The store every handle shares, as curl would build its own from `path`:
// the certificates of the file, and partial chains allowed (an
// intermediate in the file is a trust anchor: curl's default, which it
// sets on the store it makes). Null when nothing could be loaded.
X509_STORE* LoadStore(const std::string& path) {
  if (path.empty()) return nullptr;
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr) return nullptr;
  if (X509_STORE_load_file(store, path.c_str()) != 1 ||
      X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) != 1) {
    X509_STORE_free(store);
    return nullptr;
  }
  return store;
}

}  // namespace

CaBundleFile::CaBundleFile(const std::string& ca_file) {
  if (ca_file.empty()) {
    if (access(kSystemCaBundle, R_OK) == 0) path_ = kSystemCaBundle;
    store_ = LoadStore(path_);
    return;
  }
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
  store_ = LoadStore(path_);
}

CaBundleFile::~CaBundleFile() {
  if (owned_) std::remove(path_.c_str());
  X509_STORE_free(store_);
}

}  // namespace niftysave::http
