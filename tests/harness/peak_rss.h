#pragma once

// Peak resident memory (VmHWM) of a process, for tests and benchmarks that
// show memory stays bounded under a hostile workload.

#include <sys/types.h>

#include <cstdint>
#include <fstream>
#include <string>

namespace niftysave::harness {

// A "Vm...:" line of `pid`'s /proc status (this process by default) in KiB;
// -1 when unreadable.
inline int64_t StatusKb(const std::string& field, pid_t pid = 0) {
  std::ifstream status(pid == 0 ? std::string("/proc/self/status")
                                : "/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

// VmHWM of `pid` (this process by default) in KiB; -1 when unreadable.
inline int64_t PeakRssKb(pid_t pid = 0) { return StatusKb("VmHWM", pid); }

// VmRSS (resident now) of `pid` in KiB; -1 when unreadable.
inline int64_t RssKb(pid_t pid = 0) { return StatusKb("VmRSS", pid); }

}  // namespace niftysave::harness
