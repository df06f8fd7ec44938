#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

// Structured logs: one JSON object per line on stderr, e.g.
// {"ts":"2026-11-24T15:00:00.123Z","level":"info","service":"indexer","msg":"indexed
// range","from":"10","to":"20"}
namespace niftysave::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

using Fields = std::vector<std::pair<absl::string_view, std::string>>;

void SetService(absl::string_view service);
void SetMinLevel(Level level);
// Parses "debug", "info", "warn", "error"; false if unknown.
bool ParseLevel(absl::string_view text, Level* level);

void Write(Level level, absl::string_view msg, const Fields& fields = {});

inline void Debug(absl::string_view msg, const Fields& fields = {}) {
  Write(Level::kDebug, msg, fields);
}
inline void Info(absl::string_view msg, const Fields& fields = {}) {
  Write(Level::kInfo, msg, fields);
}
inline void Warn(absl::string_view msg, const Fields& fields = {}) {
  Write(Level::kWarn, msg, fields);
}
inline void Error(absl::string_view msg, const Fields& fields = {}) {
  Write(Level::kError, msg, fields);
}

}  // namespace niftysave::log
