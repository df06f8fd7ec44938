#include "common/runtime/flags.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"

namespace niftysave {
namespace {
std::string g_program = "niftysave";
}

std::string EnvNameForFlag(absl::string_view flag) {
  return "NIFTYSAVE_" + absl::AsciiStrToUpper(flag);
}

void DieWithConfigError(absl::string_view flag, absl::string_view message) {
  std::fprintf(stderr, "%s: --%.*s: %.*s\n", g_program.c_str(),
               static_cast<int>(flag.size()), flag.data(),
               static_cast<int>(message.size()), message.data());
  std::exit(2);
}

std::vector<char*> ParseFlags(int argc, char** argv, absl::string_view usage) {
  if (argc > 0) {
    std::string p = argv[0];
    g_program = p.substr(p.find_last_of('/') + 1);
  }
  static std::once_flag usage_once;
  std::call_once(usage_once, [&] { absl::SetProgramUsageMessage(usage); });
  // Environment first, so the command line parsed afterwards overrides it.
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string env = EnvNameForFlag(name);
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      DieWithConfigError(name, "from " + env + ": " + error);
    }
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace niftysave
