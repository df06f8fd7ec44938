#pragma once

#include <string>

struct x509_store_st;  // OpenSSL's X509_STORE

namespace niftysave::http {

// The one CA file every TLS connection of a client verifies against: the
// system bundle, plus `ca_file` when given (CURLOPT_CAINFO alone would
// replace the system's), then written once to a private temp file that
// lives as long as this.
//
// Always a single file, never a blob or a CA directory: curl keeps the
// parsed store of a CA *file* per handle (CURLOPT_CA_CACHE_TIMEOUT), but
// parses a blob, or a file next to a CA directory (Debian's libcurl has
// CURLOPT_CAPATH /etc/ssl/certs compiled in), again on every new
// connection: ~140 certificates through OpenSSL 3's decoders, milliseconds
// of CPU each time. ApplyCurlOptions therefore sets CAINFO to path() and
// clears CAPATH. path() is "" (curl's defaults) only when the system bundle
// is missing and no ca_file is given, or the temp file cannot be written.
//
// curl's cache is per handle, though: a client keeping many handles (to keep
// a connection open to each of many origins) held one parsed store each,
// ~0.4 MB for the system bundle. So the file is also parsed once here into
// store(), which every handle's TLS context takes instead (ApplyCurlOptions,
// CURLOPT_SSL_CTX_FUNCTION; OpenSSL's store is reference counted and safe
// to share between threads). store() is null when the file cannot be
// parsed; the handles then load path() themselves as before.
class CaBundleFile {
 public:
  explicit CaBundleFile(const std::string& ca_file);
  ~CaBundleFile();
  CaBundleFile(const CaBundleFile&) = delete;
  CaBundleFile& operator=(const CaBundleFile&) = delete;
  const std::string& path() const { return path_; }
  x509_store_st* store() const { return store_; }

 private:
  std::string path_;
  bool owned_ = false;  // a temp file of ours, removed with this
  x509_store_st* store_ = nullptr;
};

}  // namespace niftysave::http
