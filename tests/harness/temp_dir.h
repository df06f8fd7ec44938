#pragma once

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace niftysave::harness {

// A fresh directory, removed recursively on destruction unless the
// environment has NIFTYSAVE_KEEP_TEMP=1 (then its path is printed to stderr
// so a failed run can be inspected). Move-only.
class TempDir {
 public:
  // Creates `<parent>/<prefix>-XXXXXX`; parent defaults to $TMPDIR or /tmp.
  static absl::StatusOr<TempDir> Create(std::string prefix = "niftysave",
                                        std::string parent = "");

  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }

  // Hands the directory and everything in it to `user` (and its primary
  // group), for servers that refuse to run as root (postgres).
  absl::Status chown_to(const std::string& user) const;

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  void Remove();

  std::string path_;
};

// Writes `bytes` to `path` (created or truncated); the one file writer of
// the harness and the tests built on it.
absl::Status WriteFile(const std::string& path, const std::string& bytes);

}  // namespace niftysave::harness
