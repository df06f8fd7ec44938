// What the benchmarks share: progress lines stamped with the seconds since
// the run started, and giving up on the first failure of the setup (a
// benchmark has nothing to retry: it says what failed and exits 1).
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace niftysave::bench {

// "[  12.3s] line", the seconds counted from the first call.
inline void Say(const std::string& line) {
  static const absl::Time start = absl::Now();
  std::printf("[%7.1fs] %s\n", absl::ToDoubleSeconds(absl::Now() - start),
              line.c_str());
  std::fflush(stdout);
}

// "<program>: <what>: <message>" on stderr, then exit 1.
inline void OrDie(const absl::Status& s, const std::string& what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name,
               what.c_str(), std::string(s.message()).c_str());
  std::exit(1);
}
template <typename T>
T OrDie(absl::StatusOr<T> v, const std::string& what) {
  OrDie(v.status(), what);
  return *std::move(v);
}

}  // namespace niftysave::bench
