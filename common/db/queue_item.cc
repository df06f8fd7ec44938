#include "common/db/queue_item.h"

#include "absl/strings/str_cat.h"
#include "common/runtime/log.h"

namespace niftysave::db {

std::vector<QueueItem> LeasedOrLogged(
    absl::StatusOr<std::vector<QueueItem>> leased, absl::string_view what) {
  if (leased.ok()) return *std::move(leased);
  log::Warn(absl::StrCat("cannot lease ", what),
            {{"error", std::string(leased.status().message())}});
  return {};
}

std::vector<int64_t> IdsOf(const std::vector<QueueItem>& items) {
  std::vector<int64_t> ids;
  ids.reserve(items.size());
  for (const QueueItem& item : items) ids.push_back(item.id);
  return ids;
}

}  // namespace niftysave::db
