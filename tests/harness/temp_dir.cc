#include "tests/harness/temp_dir.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"

namespace niftysave::harness {

absl::StatusOr<TempDir> TempDir::Create(std::string prefix,
                                        std::string parent) {
  if (parent.empty()) {
    const char* tmpdir = std::getenv("TMPDIR");
    parent = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  }
  std::string path = absl::StrCat(parent, "/", prefix, "-XXXXXX");
  if (mkdtemp(path.data()) == nullptr) {
    int err = errno;
    return absl::ErrnoToStatus(err, absl::StrCat("mkdtemp ", path));
  }
  return TempDir(std::move(path));
}

TempDir::TempDir(TempDir&& other) noexcept
    : path_(std::exchange(other.path_, "")) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, "");
  }
  return *this;
}

TempDir::~TempDir() { Remove(); }

void TempDir::Remove() {
  if (path_.empty()) return;
  const char* keep = std::getenv("NIFTYSAVE_KEEP_TEMP");
  if (keep != nullptr && std::string(keep) == "1") {
    std::cerr << "NIFTYSAVE_KEEP_TEMP=1: keeping " << path_ << "\n";
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

absl::Status TempDir::chown_to(const std::string& user) const {
  struct passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) {
    return absl::NotFoundError(absl::StrCat("no such user: ", user));
  }
  auto change = [&](const std::filesystem::path& p) -> absl::Status {
    if (lchown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      int err = errno;
      return absl::ErrnoToStatus(err, absl::StrCat("chown ", p.string()));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = change(path_); !s.ok()) return s;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (absl::Status s = change(it->path()); !s.ok()) return s;
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("walking ", path_, ": ", ec.message()));
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  if (!out) return absl::InternalError("cannot write " + path);
  return absl::OkStatus();
}

}  // namespace niftysave::harness
