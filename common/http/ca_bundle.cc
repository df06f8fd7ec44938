#include "common/http/ca_bundle.h"

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

}  // namespace

CaBundleFile::CaBundleFile(const std::string& ca_file) {
  if (ca_file.empty()) {
    if (access(kSystemCaBundle, R_OK) == 0) path_ = kSystemCaBundle;
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
}

CaBundleFile::~CaBundleFile() {
  if (owned_) std::remove(path_.c_str());
}

}  // namespace niftysave::http
