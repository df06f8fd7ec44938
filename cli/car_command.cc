// `niftysave car FILE OUT.car`: FILE as a UnixFS DAG in CAR v1 file(s),
// split into pieces of at most --max_size bytes when set.
#include <cstdio>

#include "cli/commands.h"
#include "common/ipfs/car.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/flags.h"

namespace niftysave::cli {

int Car(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    std::fprintf(
        stderr,
        "usage: niftysave car [--profile P] [--wrap] [--max_size BYTES] FILE "
        "OUT.car\n");
    return 2;
  }
  absl::StatusOr<ipfs::ImportProfile> profile =
      ipfs::ProfileByName(ImportProfileName());
  if (!profile.ok()) DieWithConfigError("profile", profile.status().message());
  const int64_t max_size = MaxCarBytes();
  if (max_size < 0) DieWithConfigError("max_size", "must be >= 0");

  ipfs::CarSplitWriter writer(args[1], static_cast<uint64_t>(max_size),
                              ipfs::PlaceholderRoot(profile->cid_version));
  absl::StatusOr<uri::Cid> root =
      ImportForCli(args[0], *profile,
                   [&writer](const uri::Cid& cid, absl::string_view block) {
                     return writer.Put(cid, block);
                   });
  absl::StatusOr<std::vector<std::string>> files =
      root.ok() ? writer.Finish(*root)
                : absl::StatusOr<std::vector<std::string>>(root.status());
  if (!files.ok()) {
    std::fprintf(stderr, "niftysave car: %s\n",
                 std::string(files.status().message()).c_str());
    return 1;
  }
  for (const std::string& f : *files) std::printf("%s\n", f.c_str());
  std::printf("root %s\n", ipfs::CidText(*root).c_str());
  return 0;
}

}  // namespace niftysave::cli
