#pragma once

#include <string>

struct x509_store_st;  // OpenSSL's X509_STORE

namespace niftysave::http {

// The CAs every TLS connection of a client verifies against: the system
// bundle, plus `ca_file` when given. Parsed once, here, into store() (an
// OpenSSL X509_STORE: reference counted and safe to share between threads),
// which every handle's TLS context takes (ApplyCurlOptions,
// CURLOPT_SSL_CTX_FUNCTION). Left to itself curl parses a CA *file* once per
// handle and keeps it (~0.4 MB for the system bundle: a client keeping 128
// handles, one per origin it talks to, took the pinner from 110 to 161 MB),
// and a blob, or a file next to a CA directory (Debian's libcurl has
// CURLOPT_CAPATH /etc/ssl/certs compiled in), again on every connection
// (~140 certificates through OpenSSL 3's decoders, milliseconds each).
//
// When the certificates cannot be parsed (a `ca_file` that is not PEM),
// store() is null, a warning names the file, and path() is one file for
// curl to load itself, as before the store: the system bundle, or it and
// `ca_file` written together to a private temp file that lives as long as
// this. path() is "" (curl's defaults) when store() is set or there is
// nothing to load.
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
