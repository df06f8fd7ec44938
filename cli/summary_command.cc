#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "common/db/pool.h"
#include "nlohmann/json.hpp"

namespace niftysave::cli {
namespace {

// Small by design: this is an operator's one-off look, not a dashboard
// (dashboards read the services' metrics instead of counting rows).
constexpr char kCounts[] = R"sql(
SELECT 'tokens', status, coalesce(reason, ''), count(*) FROM tokens GROUP BY 2, 3
UNION ALL
SELECT 'resources', status, coalesce(reason, ''), count(*) FROM resources GROUP BY 2, 3
UNION ALL
SELECT 'pins', status, coalesce(reason, ''), count(*) FROM pins GROUP BY 2, 3
ORDER BY 1 DESC, 2, 3)sql";

}  // namespace

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
  struct Row {
    std::string table, status, reason;
    int64_t count;
  };
  std::vector<Row> rows;
  absl::Status s = (*pool)->Run([&](pqxx::work& txn) {
    for (const auto& r : txn.exec(kCounts)) {
      rows.push_back({r[0].as<std::string>(), r[1].as<std::string>(),
                      r[2].as<std::string>(), r[3].as<int64_t>()});
    }
    return absl::OkStatus();
  });
  if (!s.ok()) {
    std::fprintf(stderr, "niftysave summary: %s\n",
                 std::string(s.message()).c_str());
    return 1;
  }
  if (JsonOutput()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const Row& r : rows) {
      out[r.table][r.status + (r.reason.empty() ? "" : ":" + r.reason)] =
          r.count;
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%-10s %-10s %-28s %8s\n", "RECORD", "STATUS", "REASON", "COUNT");
  std::map<std::string, int64_t> totals;
  for (const Row& r : rows) {
    std::printf("%-10s %-10s %-28s %8lld\n", r.table.c_str(), r.status.c_str(),
                r.reason.empty() ? "-" : r.reason.c_str(),
                static_cast<long long>(r.count));
    totals[r.table] += r.count;
  }
  for (const auto& [table, total] : totals) {
    std::printf("%-10s %-10s %-28s %8lld\n", table.c_str(), "(total)", "",
                static_cast<long long>(total));
  }
  return 0;
}

}  // namespace niftysave::cli
