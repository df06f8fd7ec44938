#include "common/runtime/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace niftysave::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::mutex g_mu;
std::string g_service = "niftysave";  // guarded by g_mu

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void SetService(absl::string_view service) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_service = std::string(service);
}

void SetMinLevel(Level level) { g_min_level = static_cast<int>(level); }

bool ParseLevel(absl::string_view text, Level* level) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (text == LevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

void Write(Level level, absl::string_view msg, const Fields& fields) {
  if (static_cast<int>(level) < g_min_level) return;
  nlohmann::ordered_json line;
  line["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                absl::UTCTimeZone());
  line["level"] = LevelName(level);
  std::lock_guard<std::mutex> lock(g_mu);
  line["service"] = g_service;
  line["msg"] = std::string(msg);
  for (const auto& [key, value] : fields) line[std::string(key)] = value;
  // Values may hold bytes from outside (URIs, errors): never throw on them.
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

}  // namespace niftysave::log
