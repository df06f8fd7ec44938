#pragma once

#include <string>

namespace niftysave::http {

// The system CAs plus `ca_file` (CURLOPT_CAINFO alone would replace the
// system's), written once to a private temp file that lives as long as this.
// A file, not CURLOPT_CAINFO_BLOB: curl caches the parsed store of a CA
// *file* per handle (CURLOPT_CA_CACHE_TIMEOUT), while a blob is parsed again
// on every connection, milliseconds of OpenSSL 3 decoding each time.
// path() is "" when `ca_file` is "" (curl's default system bundle) or when
// the file could not be written (then the system bundle alone applies).
class CaBundleFile {
 public:
  explicit CaBundleFile(const std::string& ca_file);
  ~CaBundleFile();
  CaBundleFile(const CaBundleFile&) = delete;
  CaBundleFile& operator=(const CaBundleFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace niftysave::http
