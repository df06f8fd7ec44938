#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/uri/cid.h"

namespace niftysave::cli {

// Each subcommand gets its positional arguments (after the subcommand name)
// and returns the process exit code: 0 ok, 1 failure, 2 usage error.
int Migrate(const std::vector<std::string>& args);
int Status(const std::vector<std::string>& args);
int Summary(const std::vector<std::string>& args);
int Stats(const std::vector<std::string>& args);
int InspectUri(const std::vector<std::string>& args);
int Cid(const std::vector<std::string>& args);
int Car(const std::vector<std::string>& args);
int Queue(const std::vector<std::string>& args);

// Flag values shared by the subcommands.
std::string DatabaseUrl();  // exits 2 when unset
std::string TrackerAddr();
bool JsonOutput();
std::string ImportProfileName();  // --profile
int64_t MaxCarBytes();            // --max_size
bool WrapInDirectory();           // --wrap
std::string QueueName();          // --queue ("": every queue)
int ListLimit();                  // --limit

// FILE imported as the cid and car commands do: one UnixFS file, or with
// --wrap that file inside a directory under its base name.
absl::StatusOr<uri::Cid> ImportForCli(const std::string& path,
                                      const ipfs::ImportProfile& profile,
                                      const ipfs::BlockSink& sink);

}  // namespace niftysave::cli
