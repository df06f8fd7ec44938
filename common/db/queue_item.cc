#include "common/db/queue_item.h"

#include "common/runtime/log.h"

namespace niftysave::db {

int HandleLeased(const absl::StatusOr<std::vector<QueueItem>>& leased,
                 const std::function<void(const QueueItem&)>& handle) {
  if (!leased.ok()) {
    log::Warn("cannot lease work",
              {{"error", std::string(leased.status().message())}});
    return 0;
  }
  for (const QueueItem& item : *leased) handle(item);
  return static_cast<int>(leased->size());
}

}  // namespace niftysave::db
