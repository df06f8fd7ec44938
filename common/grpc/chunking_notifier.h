#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/grpc/notify.h"
#include "grpcpp/grpcpp.h"

namespace niftysave {

// The one fast-path hand-off from a service to the next: tells the peer which
// items were just queued, in calls of at most `max_per_call` items (the cap
// the peer's handler enforces), each best effort (NotifyBestEffort). The work
// is already durable in Postgres, so a failed call only costs the peer's
// poll interval.
//
// Logic classes never see this type: they take a
// std::function<void(const std::vector<Item>&)>, and main wires Notify in.
template <typename Item, typename Request, typename Response>
class ChunkingNotifier {
 public:
  // Adds one item to a request.
  using Add = std::function<void(Request&, const Item&)>;
  // Makes the call (a stub method bound to its stub).
  using Call = std::function<grpc::Status(grpc::ClientContext*, const Request&,
                                          Response*)>;

  // An empty `call` turns notifications off (the peer polls).
  ChunkingNotifier(std::string peer, size_t max_per_call, Add add, Call call)
      : peer_(std::move(peer)),
        max_per_call_(std::max<size_t>(1, max_per_call)),
        add_(std::move(add)),
        call_(std::move(call)) {}

  // False when any call failed; true when all went through, or when off.
  bool Notify(const std::vector<Item>& items) const {
    if (!call_ || items.empty()) return true;
    bool ok = true;
    for (size_t start = 0; start < items.size(); start += max_per_call_) {
      const size_t end = std::min(items.size(), start + max_per_call_);
      Request request;
      for (size_t i = start; i < end; ++i) add_(request, items[i]);
      Response response;
      ok &= NotifyBestEffort(peer_, [&](grpc::ClientContext* context) {
        return call_(context, request, &response);
      });
    }
    return ok;
  }

  bool enabled() const { return static_cast<bool>(call_); }
  size_t max_per_call() const { return max_per_call_; }

 private:
  const std::string peer_;
  const size_t max_per_call_;
  const Add add_;
  const Call call_;
};

}  // namespace niftysave
