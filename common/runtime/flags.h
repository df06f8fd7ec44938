#pragma once

#include <vector>

#include "absl/strings/string_view.h"

namespace niftysave {

// Parses the command line. Every flag `--foo_bar` may also be given as the
// environment variable NIFTYSAVE_FOO_BAR; the command line wins. A bad value
// prints one line naming the flag and exits with status 2. Returns the
// positional arguments (argv[0] first).
std::vector<char*> ParseFlags(int argc, char** argv, absl::string_view usage);

// "NIFTYSAVE_" + upper-case flag name.
std::string EnvNameForFlag(absl::string_view flag);

// Exits with status 2 after printing "<binary>: --flag: message".
[[noreturn]] void DieWithConfigError(absl::string_view flag,
                                     absl::string_view message);

}  // namespace niftysave
