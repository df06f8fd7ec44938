#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/fetch/async_fetcher.h"
#include "services/extractor/extractor_repository.h"
#include "services/extractor/metadata_extractor.h"

namespace niftysave::extractor {

struct ExtractionObserver {
  std::function<void(const std::string& outcome, const std::string& reason)>
      finished = [](const std::string&, const std::string&) {};
  // Called on a writer thread after each write, with the resources it
  // queued for pinning: it must not wait on the pinner (main.cc gives it a
  // CoalescingNotifier, which only queues them).
  std::function<void(const std::vector<int64_t>&)> resources_queued =
      [](const std::vector<int64_t>&) {};
  // Which form of an ERC-1155 `{id}` template was found ("hex", "decimal").
  std::function<void(const std::string& form)> erc1155_id_form =
      [](const std::string&) {};
  // A body outgrew what the byte budget had free: its item starts over once
  // a whole max_item_bytes is free.
  std::function<void()> budget_wait = [] {};
};

struct ExtractionWorkerOptions {
  // Items being fetched or parsed at once. Finished ones wait apart for
  // their write, so a write never holds a fetch slot; leased items not yet
  // recorded are at most twice this, so the feeder stops leasing when the
  // writers fall behind.
  int max_in_flight = 256;
  // Items leased per query (at most); leases happen as slots free up.
  int lease_batch = 64;
  // The feeder leases once this many slots are free (capped by lease_batch),
  // so freed slots do not sit idle until a whole lease_batch is free.
  int lease_when_free = 16;
  // Threads that parse fetched documents and walk their assets.
  int parse_threads = 2;
  // Outcomes recorded per transaction (at most), and transactions at once
  // (each holds a database connection).
  int write_batch = 128;
  int writers = 3;
  // How long a write waits, from when the oldest outcome waiting was
  // recorded, for a whole write_batch to gather (0: it writes what it finds).
  // Fetches finish one by one, so without it each transaction records one or
  // two tokens, each with its roll-up and hand-off.
  absl::Duration write_gather = absl::ZeroDuration();
  // Bytes all leased items may hold at once (0: no budget), so
  // max_in_flight hostile 16 MiB bodies cannot add up past the pod's memory.
  // An item reserves first_reservation when leased and grows its
  // reservation as its body arrives (doubling, up to max_item_bytes, the
  // most a fetch may hold); it keeps what its body took once fetched and
  // frees it when written. The feeder leases while first_reservation is
  // free. A body that outgrows what is free is cut, and its item waits for
  // a whole max_item_bytes (twice that when it also fetches content to
  // check against an on-chain hash), which it then cannot outgrow; waiting
  // items go before new leases and before other bodies grow. So typical
  // small documents keep every fetch slot busy, and a hostile 16 MiB body
  // costs a retry from the start, never a failure. max_buffered_bytes must
  // be at least that whole reservation.
  int64_t max_buffered_bytes = 0;
  int64_t max_item_bytes = 16 << 20;
  int64_t first_reservation = 64 << 10;
};

// The longest one leased item may take: up to six fetches (the metadata,
// its decimal-id form and the content checked against an on-chain hash;
// twice, since a body cut for the byte budget starts its item again) and
// the wait for that budget, each waiting in its host's line behind up to
// options.max_in_flight others (`max_per_host` at a time, and no more than
// `per_host_rps` started a second when it is not 0) and taking up to
// `fetch_timeout`; then the write gather, and a minute. The heartbeat
// renews leased items this long (QueuePolicy::renew_for), so a slow host
// never lets the leases of the items queued behind it lapse mid-fetch
// (another worker would fetch them again and, after max_lost_leases, they
// would be parked).
absl::Duration LongestItem(const ExtractionWorkerOptions& options,
                           int max_per_host, double per_host_rps,
                           absl::Duration fetch_timeout);

// Keeps up to max_in_flight tokens moving through: lease (in batches, as
// slots free up) → fetch (asynchronously, AsyncFetcher) → parse and walk
// (a small CPU pool) → record (writer threads, batched set-based writes) →
// hand the resources queued for pinning to the observer. A temporary failure is
// rescheduled with back-off, never sooner than the server's Retry-After, until
// the queue's last attempt; then it, like every permanent one, ends as failed.
class ExtractionWorker {
 public:
  ExtractionWorker(ExtractorRepository& repo,
                   const fetch::AsyncFetcher& fetcher, ExtractorLimits limits,
                   ExtractionWorkerOptions options,
                   ExtractionObserver observer);
  // Waits for what is in flight, then stops the threads.
  ~ExtractionWorker();
  ExtractionWorker(const ExtractionWorker&) = delete;
  ExtractionWorker& operator=(const ExtractionWorker&) = delete;

  // One feeding step, for a Worker thread: waits briefly for free slots,
  // leases up to that many items and starts them. Returns the number
  // leased, or 1 while every slot is busy (so the Worker comes straight
  // back instead of sleeping its poll interval); 0 when nothing is due.
  int Feed();
  // Leases what is due (up to max_in_flight) and returns once all of it is
  // recorded: the number of items handled. For tests and tools.
  int Step();
  // Waits until nothing is in flight or waiting for its write, at most
  // `timeout`; false if some items were still pending (their leases expire
  // and they come back).
  bool Drain(absl::Duration timeout);
  // Leased items not yet recorded (in flight or waiting for their write).
  int64_t in_flight() const;
  // Bytes of the budget reserved now, and the most at once since start.
  int64_t buffered_bytes() const;
  int64_t peak_buffered_bytes() const;
  // Items waiting for a whole max_item_bytes of the budget.
  int64_t awaiting_budget() const;

 private:
  struct Item;
  int Lease(int limit);
  // Items the byte budget lets the feeder lease now.
  int64_t BudgetRoom() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  int64_t FirstReservation() const;
  int64_t FullReservation(const Item& item) const;
  // HttpRequest::admit_body for the item's fetches: grows its reservation
  // to cover `body_bytes` more than it keeps, if the budget allows.
  bool AdmitBody(Item& item, size_t body_bytes);
  // The item's reservation becomes what it holds; waiting items may start.
  void HoldOnly(Item& item, int64_t bytes);
  // The item's body outgrew the budget: it starts over with a whole
  // reservation (FullReservation) when that is free.
  void AwaitBudget(std::shared_ptr<Item> item);
  // Starts waiting items, first come first served, while the budget has
  // room for their whole reservation.
  void StartAwaiting();
  void StartItem(std::shared_ptr<Item> item);
  void Fetched(std::shared_ptr<Item> item, uri::ResolvedUri uri,
               std::string id_form,
               absl::StatusOr<fetch::FetchedContent> content);
  void Decide(std::shared_ptr<Item> item,
              std::variant<Extraction, ExtractionFailure> result);
  void Record(ItemOutcome outcome);
  void ParseLoop();
  void WriteLoop();
  void Write(std::vector<ItemOutcome> batch);

  ExtractorRepository& repo_;
  const fetch::AsyncFetcher& fetcher_;
  const ExtractorLimits limits_;
  const ExtractionWorkerOptions options_;
  const ExtractionObserver observer_;

  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // leased, not yet decided
  int64_t unwritten_ ABSL_GUARDED_BY(mu_) = 0;  // decided, not yet recorded
  // Bytes the leased items hold or may hold (see max_buffered_bytes).
  int64_t reserved_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t peak_reserved_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::shared_ptr<Item>> awaiting_budget_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::function<void()>> parse_queue_ ABSL_GUARDED_BY(mu_);
  std::vector<ItemOutcome> write_queue_ ABSL_GUARDED_BY(mu_);
  // When the oldest outcome in write_queue_ was recorded.
  absl::Time write_queue_since_ ABSL_GUARDED_BY(mu_);

  std::vector<std::thread> threads_;
};

}  // namespace niftysave::extractor
