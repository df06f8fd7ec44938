// niftysave queue dead|retry: the operator's handle on parked work.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "cli/commands.h"
#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "nlohmann/json.hpp"

namespace niftysave::cli {
namespace {

constexpr char kUsage[] =
    "usage: niftysave queue dead [--queue=Q] [--limit=N]\n"
    "       niftysave queue retry [--queue=Q] [ITEM_ID...]";

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "niftysave queue: %s\n",
               std::string(s.message()).c_str());
  return 1;
}

int ListDead(db::Pool& pool) {
  auto items = db::ListDeadItems(pool, QueueName(), ListLimit());
  if (!items.ok()) return Fail(items.status());
  if (JsonOutput()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const db::DeadItem& d : *items) {
      out.push_back({{"queue", d.queue},
                     {"item_id", d.item_id},
                     {"attempts", d.attempts},
                     {"lost_leases", d.lost_leases},
                     {"last_error", d.last_error},
                     {"updated_at", d.updated_at}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%-16s %10s %8s %5s %-20s %s\n", "QUEUE", "ITEM", "ATTEMPTS",
              "LOST", "UPDATED", "LAST ERROR");
  for (const db::DeadItem& d : *items) {
    std::printf("%-16s %10lld %8d %5d %-20s %s\n", d.queue.c_str(),
                static_cast<long long>(d.item_id), d.attempts, d.lost_leases,
                d.updated_at.c_str(), d.last_error.substr(0, 200).c_str());
  }
  std::printf("%zu parked item(s)\n", items->size());
  return 0;
}

int Retry(db::Pool& pool, const std::vector<std::string>& id_args) {
  std::vector<int64_t> ids;
  for (const std::string& a : id_args) {
    int64_t id = 0;
    if (!absl::SimpleAtoi(a, &id) || id <= 0) {
      std::fprintf(stderr, "niftysave queue retry: not an item id: '%s'\n%s\n",
                   a.c_str(), kUsage);
      return 2;
    }
    ids.push_back(id);
  }
  auto count = db::RetryDeadItems(pool, QueueName(), ids);
  if (!count.ok()) return Fail(count.status());
  std::printf("%lld item(s) due again\n", static_cast<long long>(*count));
  return 0;
}

}  // namespace

int Queue(const std::vector<std::string>& args) {
  if (args.empty() || (args[0] != "dead" && args[0] != "retry") ||
      (args[0] == "dead" && args.size() > 1)) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  auto pool = db::Pool::Create(DatabaseUrl(), 1);
  if (!pool.ok()) return Fail(pool.status());
  if (args[0] == "dead") return ListDead(**pool);
  return Retry(**pool, {args.begin() + 1, args.end()});
}

}  // namespace niftysave::cli
