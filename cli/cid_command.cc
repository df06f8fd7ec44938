// `niftysave cid FILE`: the root CID of FILE imported as one UnixFS file
// (with --wrap, inside a directory).
#include <cstdio>

#include "cli/commands.h"
#include "common/ipfs/unixfs_directory.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/flags.h"

namespace niftysave::cli {

absl::StatusOr<uri::Cid> ImportForCli(const std::string& path,
                                      const ipfs::ImportProfile& profile,
                                      const ipfs::BlockSink& sink) {
  if (!WrapInDirectory()) return ipfs::ImportFile(path, profile, sink);
  const size_t slash = path.find_last_of('/');
  const std::string name =
      slash == std::string::npos ? path : path.substr(slash + 1);
  absl::StatusOr<ipfs::DirectoryNode> dir =
      ipfs::ImportFileWrapped(path, name, profile, sink);
  if (!dir.ok()) return dir.status();
  return dir->cid;
}

int Cid(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::fprintf(stderr,
                 "usage: niftysave cid [--profile kubo|kubo-v1|ipfs-car] "
                 "[--wrap] FILE\n");
    return 2;
  }
  absl::StatusOr<ipfs::ImportProfile> profile =
      ipfs::ProfileByName(ImportProfileName());
  if (!profile.ok()) DieWithConfigError("profile", profile.status().message());
  absl::StatusOr<uri::Cid> root = ImportForCli(args[0], *profile, nullptr);
  if (!root.ok()) {
    std::fprintf(stderr, "niftysave cid: %s\n",
                 std::string(root.status().message()).c_str());
    return 1;
  }
  std::printf("%s\n", ipfs::CidText(*root).c_str());
  return 0;
}

}  // namespace niftysave::cli
