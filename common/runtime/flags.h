#pragma once

#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
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

// Reads a numeric flag; outside [lo, hi] (or NaN) exits 2 with
// "--name: must be lo-hi". The one range check every binary uses.
template <typename T>
T GetFlagInRange(const absl::Flag<T>& flag, T lo, T hi) {
  const T value = absl::GetFlag(flag);
  if (!(value >= lo && value <= hi)) {
    DieWithConfigError(absl::GetFlagReflectionHandle(flag).Name(),
                       absl::StrCat("must be ", lo, "-", hi));
  }
  return value;
}

}  // namespace niftysave
