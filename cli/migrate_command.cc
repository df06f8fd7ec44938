#include <cstdio>

#include "cli/commands.h"
#include "common/db/migrations.h"

namespace niftysave::cli {

int Migrate(const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::fprintf(stderr, "usage: niftysave migrate --database_url=URL\n");
    return 2;
  }
  absl::StatusOr<int> version = db::Migrate(DatabaseUrl());
  if (!version.ok()) {
    std::fprintf(stderr, "niftysave migrate: %s\n",
                 std::string(version.status().message()).c_str());
    return 1;
  }
  std::printf("schema at version %d\n", *version);
  return 0;
}

}  // namespace niftysave::cli
