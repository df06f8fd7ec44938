#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc/chunking_notifier.h"

namespace niftysave {

// Gathers the hand-offs of many threads into few calls: Notify only queues
// the items, and a sender thread passes them to a ChunkingNotifier `window`
// after the first of them arrived, or at once when a whole call's worth
// (the peer's cap) is waiting. One call per window instead of one per item
// spares the peer a transaction each, and the caller never waits on the
// network.
//
// Memory is bounded: past `max_pending` items waiting, new ones are dropped
// and counted. Nothing is lost by that: the work is already durable in
// Postgres, and the peer finds it by polling its queue. An id already
// waiting is not queued twice.
//
// A window of zero passes each Notify through at once, on the caller's
// thread (no sender thread). Stop, or the destructor, makes one last
// best-effort attempt to send what is waiting and joins the thread: stop the
// threads that call Notify first.
template <typename Item, typename Request, typename Response>
class CoalescingNotifier {
 public:
  using Inner = ChunkingNotifier<Item, Request, Response>;
  // For metrics; either may be empty. Called on the sender thread or in
  // Notify, never under the notifier's lock.
  struct Observer {
    std::function<void(bool ok)> call;           // each call made
    std::function<void(int64_t items)> dropped;  // items dropped
  };

  CoalescingNotifier(Inner inner, absl::Duration window,
                     size_t max_pending = 100000, Observer observer = {})
      : inner_(std::move(inner)),
        window_(window),
        max_pending_(std::max<size_t>(1, max_pending)),
        observer_(std::move(observer)),
        coalescing_(inner_.enabled() && window_ > absl::ZeroDuration()) {
    if (coalescing_) thread_ = std::thread([this] { Run(); });
  }
  ~CoalescingNotifier() { Stop(); }
  CoalescingNotifier(const CoalescingNotifier&) = delete;
  CoalescingNotifier& operator=(const CoalescingNotifier&) = delete;

  // Never waits on the peer, unless the window is zero or Stop has run
  // (then it sends on the caller's thread, as ChunkingNotifier does).
  void Notify(const std::vector<Item>& items) {
    if (!inner_.enabled() || items.empty()) return;
    bool queued = false;
    int64_t dropped = 0;
    {
      absl::MutexLock lock(&mu_);
      queued = coalescing_ && !stopping_;
      if (queued) dropped = Queue(items);
    }
    if (dropped > 0) Drop(dropped);
    if (!queued) Send(items);
  }

  // Sends what is waiting (one attempt; after a failed call the rest is
  // dropped, so a dead peer delays the exit by the deadlines of the call in
  // progress and one more at most, 2 s each) and joins the sender thread.
  // Later Notify calls are sent directly.
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

  // Calls made to the peer, those that failed, and items dropped (over
  // max_pending, or left when the last attempt at Stop failed).
  int64_t calls() const { return calls_; }
  int64_t failed_calls() const { return failed_calls_; }
  int64_t dropped() const { return dropped_; }

 private:
  // Returns how many items did not fit.
  int64_t Queue(const std::vector<Item>& items)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int64_t dropped = 0;
    for (const Item& item : items) {
      if (waiting_.contains(item)) continue;
      if (pending_.size() >= max_pending_) {
        ++dropped;
        continue;
      }
      if (pending_.empty()) first_at_ = absl::Now();
      pending_.push_back(item);
      waiting_.insert(item);
    }
    return dropped;
  }

  void Drop(int64_t n) {
    dropped_ += n;
    if (observer_.dropped) observer_.dropped(n);
  }

  // Sends `items` through the inner notifier, one call per cap's worth;
  // false when any call failed.
  bool Send(const std::vector<Item>& items) {
    const size_t per_call = inner_.max_per_call();
    bool ok = true;
    for (size_t start = 0; start < items.size(); start += per_call) {
      const size_t end = std::min(items.size(), start + per_call);
      ++calls_;  // before the call: the peer may be seen to have it first
      const bool sent =
          inner_.Notify({items.begin() + start, items.begin() + end});
      if (!sent) ++failed_calls_;
      if (observer_.call) observer_.call(sent);
      ok &= sent;
    }
    return ok;
  }

  // The sender thread.
  void Run() {
    for (std::vector<Item> batch = NextBatch(); !batch.empty();
         batch = NextBatch()) {
      if (!Send(batch)) GiveUpIfStopping();
    }
  }

  // Waits for a call's worth, or for the window to end, or for Stop, and
  // takes at most one call's worth; empty once stopped with nothing left.
  std::vector<Item> NextBatch() {
    const size_t per_call = inner_.max_per_call();
    auto any = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return stopping_ || !pending_.empty();
    };
    auto ready = [this, per_call]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return stopping_ || pending_.size() >= per_call;
    };
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&any));
    if (pending_.empty()) return {};
    // What a previous batch left behind has waited its window already.
    mu_.AwaitWithDeadline(absl::Condition(&ready), first_at_ + window_);
    const size_t n = std::min(per_call, pending_.size());
    std::vector<Item> batch(pending_.begin(), pending_.begin() + n);
    pending_.erase(pending_.begin(), pending_.begin() + n);
    for (const Item& item : batch) waiting_.erase(item);
    return batch;
  }

  // At Stop a failed call ends the last attempt: the peer is likely down,
  // and each further call could cost a whole deadline.
  void GiveUpIfStopping() {
    int64_t left = 0;
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) return;
      left = static_cast<int64_t>(pending_.size());
      pending_.clear();
      waiting_.clear();
    }
    if (left > 0) Drop(left);
  }

  const Inner inner_;
  const absl::Duration window_;
  const size_t max_pending_;
  const Observer observer_;
  const bool coalescing_;  // else each Notify is sent on the caller's thread
  absl::Mutex mu_;
  std::deque<Item> pending_ ABSL_GUARDED_BY(mu_);           // in arrival order
  absl::flat_hash_set<Item> waiting_ ABSL_GUARDED_BY(mu_);  // = pending_
  absl::Time first_at_ ABSL_GUARDED_BY(mu_);  // when pending_ was last empty
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> calls_ = 0;
  std::atomic<int64_t> failed_calls_ = 0;
  std::atomic<int64_t> dropped_ = 0;
  std::thread thread_;
};

}  // namespace niftysave
