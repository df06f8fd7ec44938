// `niftysave cid FILE`: the root CID of FILE imported as one UnixFS file.
#include <cstdio>

#include "cli/commands.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/flags.h"

namespace niftysave::cli {

int Cid(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::fprintf(stderr,
                 "usage: niftysave cid [--profile kubo|kubo-v1|ipfs-car] "
                 "FILE\n");
    return 2;
  }
  absl::StatusOr<ipfs::ImportProfile> profile =
      ipfs::ProfileByName(ImportProfileName());
  if (!profile.ok()) DieWithConfigError("profile", profile.status().message());
  absl::StatusOr<uri::Cid> root = ipfs::ImportFile(args[0], *profile, nullptr);
  if (!root.ok()) {
    std::fprintf(stderr, "niftysave cid: %s\n",
                 std::string(root.status().message()).c_str());
    return 1;
  }
  std::printf("%s\n", ipfs::CidText(*root).c_str());
  return 0;
}

}  // namespace niftysave::cli
