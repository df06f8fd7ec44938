#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "common/db/pool.h"
#include "nlohmann/json.hpp"
#include "services/tracker/pg_tracker_repository.h"

namespace niftysave::cli {

int Summary(const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::fprintf(stderr, "usage: niftysave summary --database_url=URL\n");
    return 2;
  }
  auto pool = db::Pool::Create(DatabaseUrl(), 1);
  if (!pool.ok()) {
    std::fprintf(stderr, "niftysave summary: %s\n",
                 std::string(pool.status().message()).c_str());
    return 1;
  }
  // Small by design: this is an operator's one-off look, not a dashboard
  // (dashboards read the services' metrics instead of counting rows). The
  // counts are the tracker's funnel gauges' own statement.
  absl::StatusOr<std::vector<tracker::StatusCount>> rows =
      tracker::PgTrackerRepository::CountRecords(**pool);
  if (!rows.ok()) {
    std::fprintf(stderr, "niftysave summary: %s\n",
                 std::string(rows.status().message()).c_str());
    return 1;
  }
  if (JsonOutput()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const tracker::StatusCount& r : *rows) {
      out[r.record][r.status + (r.reason.empty() ? "" : ":" + r.reason)] =
          r.count;
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%-10s %-10s %-28s %8s\n", "RECORD", "STATUS", "REASON", "COUNT");
  std::map<std::string, int64_t> totals;
  for (const tracker::StatusCount& r : *rows) {
    std::printf("%-10s %-10s %-28s %8lld\n", r.record.c_str(), r.status.c_str(),
                r.reason.empty() ? "-" : r.reason.c_str(),
                static_cast<long long>(r.count));
    totals[r.record] += r.count;
  }
  for (const auto& [table, total] : totals) {
    std::printf("%-10s %-10s %-28s %8lld\n", table.c_str(), "(total)", "",
                static_cast<long long>(total));
  }
  return 0;
}

}  // namespace niftysave::cli
