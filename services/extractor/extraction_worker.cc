#include "services/extractor/extraction_worker.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_join.h"
#include "common/runtime/log.h"
#include "common/runtime/reason.h"
#include "services/extractor/token_plan.h"

namespace niftysave::extractor {

struct ExtractionWorker::Item {
  db::QueueItem queued;
  TokenToExtract token;
  TokenPlan token_plan;
  MetadataFetchPlan plan;
  // The content's fetch, when the plan checks its hash.
  std::optional<absl::StatusOr<fetch::FetchedContent>> content;
  int64_t reserved = 0;  // bytes of the budget it holds
  // Bytes of bodies it keeps while fetching another (the metadata while
  // the content is fetched).
  int64_t kept = 0;
  // It holds a whole reservation (FullReservation): it outgrew the budget
  // once.
  bool full = false;
};

namespace {

bool OverBudget(const absl::Status& status) {
  return ReasonOf(status) == "memory_budget";
}

}  // namespace

ExtractionWorker::ExtractionWorker(ExtractorRepository& repo,
                                   const fetch::AsyncFetcher& fetcher,
                                   ExtractorLimits limits,
                                   ExtractionWorkerOptions options,
                                   ExtractionObserver observer)
    : repo_(repo),
      fetcher_(fetcher),
      limits_(limits),
      options_(options),
      observer_(std::move(observer)) {
  for (int i = 0; i < std::max(1, options_.parse_threads); ++i) {
    threads_.emplace_back([this] { ParseLoop(); });
  }
  for (int i = 0; i < std::max(1, options_.writers); ++i) {
    threads_.emplace_back([this] { WriteLoop(); });
  }
}

ExtractionWorker::~ExtractionWorker() {
  Drain(absl::InfiniteDuration());
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

absl::Duration LongestItem(const ExtractionWorkerOptions& options,
                           int max_per_host, double per_host_rps,
                           absl::Duration fetch_timeout) {
  const int per_host = std::max(1, max_per_host);
  const int64_t rounds = (options.max_in_flight + per_host - 1) / per_host;
  // Started no faster than per_host_rps: the last in line waits for the
  // starts of everyone before it.
  const absl::Duration paced =
      per_host_rps > 0 ? absl::Seconds(options.max_in_flight / per_host_rps)
                       : absl::ZeroDuration();
  return 7 * (rounds * fetch_timeout + paced) + options.write_gather +
         absl::Seconds(60);
}

int64_t ExtractionWorker::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_ + unwritten_;
}

int ExtractionWorker::Feed() {
  // Lease as soon as a few slots are free: waiting for a whole lease_batch
  // would leave up to that many slots idle meanwhile.
  const int64_t want =
      std::max(1, std::min({options_.lease_when_free, options_.lease_batch,
                            options_.max_in_flight}));
  int64_t free = 0;
  {
    absl::MutexLock lock(&mu_);
    // Fetch slots are max_in_flight; leased items not yet recorded (those
    // waiting for their write too) at most twice that, so writes that fall
    // behind hold the feeder back instead of piling up.
    auto room = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return std::min({options_.max_in_flight - in_flight_,
                       2 * options_.max_in_flight - in_flight_ - unwritten_,
                       BudgetRoom()});
    };
    auto has_room = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return room() >= want;
    };
    mu_.AwaitWithTimeout(absl::Condition(&has_room), absl::Milliseconds(200));
    free = room();
  }
  if (free <= 0) return 1;  // busy: come back, do not sleep
  return Lease(static_cast<int>(std::min<int64_t>(free, options_.lease_batch)));
}

int64_t ExtractionWorker::buffered_bytes() const {
  absl::MutexLock lock(&mu_);
  return reserved_bytes_;
}

int64_t ExtractionWorker::peak_buffered_bytes() const {
  absl::MutexLock lock(&mu_);
  return peak_reserved_bytes_;
}

int64_t ExtractionWorker::awaiting_budget() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(awaiting_budget_.size());
}

int64_t ExtractionWorker::FirstReservation() const {
  if (options_.max_buffered_bytes <= 0) return 0;
  return std::clamp<int64_t>(options_.first_reservation, 1,
                             std::max<int64_t>(1, options_.max_item_bytes));
}

int64_t ExtractionWorker::FullReservation(const Item& item) const {
  const int64_t bodies = item.token_plan.content_sha256 ? 2 : 1;
  return std::min(bodies * options_.max_item_bytes,
                  options_.max_buffered_bytes);
}

int64_t ExtractionWorker::BudgetRoom() const {
  if (options_.max_buffered_bytes <= 0) return options_.max_in_flight;
  if (!awaiting_budget_.empty()) return 0;  // they go first
  return (options_.max_buffered_bytes - reserved_bytes_) / FirstReservation();
}

bool ExtractionWorker::AdmitBody(Item& item, size_t body_bytes) {
  const int64_t need = item.kept + static_cast<int64_t>(body_bytes);
  if (options_.max_buffered_bytes <= 0 || need <= item.reserved) return true;
  absl::MutexLock lock(&mu_);
  if (!awaiting_budget_.empty()) return false;  // they go first
  const int64_t free = options_.max_buffered_bytes - reserved_bytes_;
  // Doubling, so a body of n bytes asks about log2(n / first) times; the
  // HTTP cap stops a body at max_item_bytes.
  int64_t grow = std::max(need, std::min(2 * item.reserved,
                                         item.kept + options_.max_item_bytes)) -
                 item.reserved;
  if (grow > free) grow = need - item.reserved;
  if (grow > free) return false;
  item.reserved += grow;
  reserved_bytes_ += grow;
  peak_reserved_bytes_ = std::max(peak_reserved_bytes_, reserved_bytes_);
  return true;
}

void ExtractionWorker::HoldOnly(Item& item, int64_t bytes) {
  if (options_.max_buffered_bytes <= 0) return;
  {
    absl::MutexLock lock(&mu_);
    reserved_bytes_ += bytes - item.reserved;
    item.reserved = bytes;
  }
  StartAwaiting();
}

void ExtractionWorker::AwaitBudget(std::shared_ptr<Item> item) {
  observer_.budget_wait();
  log::Info(
      "metadata outgrew the byte budget: it starts over when a whole "
      "reservation is free",
      {{"token_pk", std::to_string(item->queued.id)}});
  {
    absl::MutexLock lock(&mu_);
    reserved_bytes_ -= item->reserved;
    item->reserved = 0;
    item->kept = 0;
    item->content.reset();
    item->full = true;
    awaiting_budget_.push_back(std::move(item));
  }
  StartAwaiting();
}

void ExtractionWorker::StartAwaiting() {
  std::vector<std::shared_ptr<Item>> ready;
  {
    absl::MutexLock lock(&mu_);
    while (!awaiting_budget_.empty()) {
      std::shared_ptr<Item>& next = awaiting_budget_.front();
      const int64_t whole = FullReservation(*next);
      if (reserved_bytes_ + whole > options_.max_buffered_bytes) break;
      next->reserved = whole;
      reserved_bytes_ += whole;
      peak_reserved_bytes_ = std::max(peak_reserved_bytes_, reserved_bytes_);
      ready.push_back(std::move(next));
      awaiting_budget_.pop_front();
    }
  }
  for (std::shared_ptr<Item>& item : ready) StartItem(std::move(item));
}

int ExtractionWorker::Step() {
  // Lease clips this to the byte budget's room (at least one item: nothing
  // is held between steps).
  const int n = Lease(options_.max_in_flight);
  Drain(absl::InfiniteDuration());
  return n;
}

bool ExtractionWorker::Drain(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return in_flight_ == 0 && unwritten_ == 0;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

int ExtractionWorker::Lease(int limit) {
  // Each item's first reservation is taken before the lease's round trips
  // to Postgres, against the room there is now: the caller saw room for
  // `limit`, but bodies in flight may have grown into it since (AdmitBody),
  // and reserving after the lease put the budget over its limit (seen:
  // 4.58 MB against 4 MiB in ExtractorPgTest.ByteBudgetBoundsBodiesInFlight
  // AndUnwritten, under load). With nothing held, one item may always go.
  const int64_t each = FirstReservation();
  {
    absl::MutexLock lock(&mu_);
    if (options_.max_buffered_bytes > 0) {
      const int64_t floor = in_flight_ + unwritten_ == 0 ? 1 : 0;
      limit = static_cast<int>(
          std::min<int64_t>(limit, std::max<int64_t>(floor, BudgetRoom())));
    }
    if (limit <= 0) return 0;
    reserved_bytes_ += each * limit;
    peak_reserved_bytes_ = std::max(peak_reserved_bytes_, reserved_bytes_);
  }
  auto give_back = [&](int64_t items) {
    if (items <= 0) return;
    {
      absl::MutexLock lock(&mu_);
      reserved_bytes_ -= each * items;
    }
    StartAwaiting();  // what waits for a whole reservation may fit now
  };
  const std::vector<db::QueueItem> leased =
      db::LeasedOrLogged(repo_.Lease(limit), "tokens to extract");
  if (leased.empty()) {
    give_back(limit);
    return 0;
  }
  const std::vector<int64_t> pks = db::IdsOf(leased);
  absl::StatusOr<std::vector<TokenToExtract>> tokens = repo_.LoadTokens(pks);
  if (!tokens.ok()) {
    log::Warn("cannot load tokens",
              {{"count", std::to_string(pks.size())},
               {"error", std::string(tokens.status().message())}});
    give_back(limit);
    return 0;  // the leases run out and the items come back
  }
  absl::flat_hash_map<int64_t, TokenToExtract*> by_pk;
  for (TokenToExtract& t : *tokens) by_pk[t.pk] = &t;
  // Reserved above, before any fetch starts; it grows as a body arrives.
  give_back(limit - static_cast<int64_t>(leased.size()));
  {
    absl::MutexLock lock(&mu_);
    in_flight_ += static_cast<int64_t>(leased.size());
  }
  for (const db::QueueItem& queued : leased) {
    auto it = by_pk.find(queued.id);
    if (it == by_pk.end() || !it->second->token_uri) {
      ItemOutcome drop;  // the token vanished (or never had a URI)
      drop.item = queued;
      drop.kind = ItemOutcome::Kind::kDrop;
      drop.reserved_bytes = each;
      Record(std::move(drop));
      continue;
    }
    auto item = std::make_shared<Item>();
    item->queued = queued;
    item->token = std::move(*it->second);
    item->reserved = each;
    StartItem(std::move(item));
  }
  return static_cast<int>(leased.size());
}

void ExtractionWorker::StartItem(std::shared_ptr<Item> item) {
  item->token_plan = PlanToken(item->token);
  auto planned =
      PlanMetadataFetch(item->token_plan.metadata_uri, item->token.token_id);
  if (auto* failure = std::get_if<ExtractionFailure>(&planned)) {
    return Decide(std::move(item), std::move(*failure));
  }
  item->plan = std::get<MetadataFetchPlan>(std::move(planned));
  // The item outlives its fetches (their callbacks hold it).
  auto admit = [this, raw = item.get()](size_t bytes) {
    return AdmitBody(*raw, bytes);
  };
  fetcher_.Fetch(
      item->plan.first,
      [this, item, admit](absl::StatusOr<fetch::FetchedContent> content) {
        const MetadataFetchPlan& plan = item->plan;
        if (plan.decimal &&
            content.status().code() == absl::StatusCode::kNotFound) {
          // The spec's hex form is not there; many contracts serve decimal ids.
          fetcher_.Fetch(
              *plan.decimal,
              [this, item, hex = content.status()](
                  absl::StatusOr<fetch::FetchedContent> retry) {
                if (retry.ok() || OverBudget(retry.status())) {
                  Fetched(item, *item->plan.decimal, "decimal",
                          std::move(retry));
                } else {
                  Fetched(item, item->plan.first, item->plan.id_form, hex);
                }
              },
              admit);
          return;
        }
        Fetched(item, plan.first, plan.id_form, std::move(content));
      },
      admit);
}

void ExtractionWorker::Fetched(std::shared_ptr<Item> item, uri::ResolvedUri uri,
                               std::string id_form,
                               absl::StatusOr<fetch::FetchedContent> content) {
  // Runs on the HTTP engine's thread: parsing goes to the pool.
  if (!item->full && !content.ok() && OverBudget(content.status())) {
    return AwaitBudget(std::move(item));
  }
  const TokenPlan& token_plan = item->token_plan;
  if (content.ok() && token_plan.content_sha256 && !item->content) {
    // The content is checked against its on-chain hash: fetched too, its
    // body growing the reservation beside the metadata's.
    item->kept = static_cast<int64_t>(content->bytes.size());
    if (!item->full) HoldOnly(*item, item->kept);
    fetcher_.Fetch(
        token_plan.content->resolved,
        [this, item, uri, id_form,
         content](absl::StatusOr<fetch::FetchedContent> media) {
          if (!item->full && !media.ok() && OverBudget(media.status())) {
            return AwaitBudget(item);
          }
          item->content = std::move(media);
          Fetched(item, uri, id_form, content);
        },
        [this, raw = item.get()](size_t bytes) {
          return AdmitBody(*raw, bytes);
        });
    return;
  }
  // From here the item holds its bodies, not the most they might have held.
  int64_t body = content.ok() ? static_cast<int64_t>(content->bytes.size()) : 0;
  if (item->content && item->content->ok()) {
    body += static_cast<int64_t>((*item->content)->bytes.size());
  }
  HoldOnly(*item, body);
  auto task = [this, item, uri = std::move(uri), id_form = std::move(id_form),
               content = std::move(content)]() mutable {
    auto result = ExtractFetched(
        item->token_plan.metadata_uri, item->token.token_id, std::move(uri),
        std::move(id_form), std::move(content), limits_);
    if (auto* x = std::get_if<Extraction>(&result)) {
      if (auto failure = ApplyPlan(item->token_plan, *x, item->content)) {
        result = *std::move(failure);
      }
    }
    item->content.reset();
    Decide(item, std::move(result));
  };
  absl::MutexLock lock(&mu_);
  parse_queue_.push_back(std::move(task));
}

void ExtractionWorker::Decide(
    std::shared_ptr<Item> item,
    std::variant<Extraction, ExtractionFailure> result) {
  const std::string pk = std::to_string(item->queued.id);
  ItemOutcome outcome;
  outcome.item = item->queued;
  outcome.reserved_bytes = item->reserved;
  if (auto* x = std::get_if<Extraction>(&result)) {
    if (x->id_form == "decimal") {
      log::Info("erc1155 {id} found in decimal form, not the spec's hex",
                {{"token_pk", pk},
                 {"uri", x->metadata_uri.normalized.substr(0, 200)}});
    }
    if (!x->leniency.empty()) {
      log::Info(
          "metadata parsed leniently",
          {{"token_pk", pk}, {"fixups", absl::StrJoin(x->leniency, ",")}});
    }
    outcome.kind = ItemOutcome::Kind::kExtracted;
    outcome.extraction = std::move(*x);
  } else {
    ExtractionFailure& failure = std::get<ExtractionFailure>(result);
    log::Info("extraction failed",
              {{"token_pk", pk},
               {"reason", failure.reason},
               {"detail", failure.detail},
               {"temporary", failure.temporary ? "true" : "false"}});
    outcome.kind = failure.temporary && !repo_.IsLastAttempt(item->queued)
                       ? ItemOutcome::Kind::kRetry
                       : ItemOutcome::Kind::kFailed;
    // The failed resource's URI as the contract returned it.
    outcome.token_uri = failure.json_path.empty()
                            ? item->token_plan.metadata_uri
                            : item->token_plan.content->uri;
    outcome.failure = std::move(failure);
  }
  Record(std::move(outcome));
}

void ExtractionWorker::Record(ItemOutcome outcome) {
  absl::MutexLock lock(&mu_);
  if (write_queue_.empty()) write_queue_since_ = absl::Now();
  write_queue_.push_back(std::move(outcome));
  // Its fetch slot is free now; the write is counted apart.
  --in_flight_;
  ++unwritten_;
}

void ExtractionWorker::ParseLoop() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stopping_ || !parse_queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (parse_queue_.empty()) return;  // stopping
      task = std::move(parse_queue_.front());
      parse_queue_.pop_front();
    }
    task();
  }
}

void ExtractionWorker::WriteLoop() {
  for (;;) {
    std::vector<ItemOutcome> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stopping_ || !write_queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      const size_t most = std::max(1, options_.write_batch);
      if (options_.write_gather > absl::ZeroDuration()) {
        // Outcomes left by a previous write have waited their window.
        auto full = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
          return stopping_ || write_queue_.size() >= most;
        };
        mu_.AwaitWithDeadline(absl::Condition(&full),
                              write_queue_since_ + options_.write_gather);
      }
      if (write_queue_.empty()) {
        if (stopping_) return;
        continue;  // another writer took them while this one waited
      }
      const size_t n = std::min<size_t>(write_queue_.size(), most);
      batch.assign(std::make_move_iterator(write_queue_.begin()),
                   std::make_move_iterator(write_queue_.begin() + n));
      write_queue_.erase(write_queue_.begin(), write_queue_.begin() + n);
    }
    Write(std::move(batch));
  }
}

void ExtractionWorker::Write(std::vector<ItemOutcome> batch) {
  std::vector<SavedOutcome> saved = repo_.SaveOutcomes(batch);
  std::vector<int64_t> to_pin;
  for (size_t i = 0; i < batch.size(); ++i) {
    const ItemOutcome& o = batch[i];
    switch (o.kind) {
      case ItemOutcome::Kind::kExtracted:
        if (saved[i].status.ok()) {
          observer_.finished("extracted", "");
          if (!o.extraction->id_form.empty()) {
            observer_.erc1155_id_form(o.extraction->id_form);
          }
          to_pin.insert(to_pin.end(), saved[i].to_pin.begin(),
                        saved[i].to_pin.end());
        }
        break;
      case ItemOutcome::Kind::kRetry:
        observer_.finished("retry", o.failure->reason);
        break;
      case ItemOutcome::Kind::kFailed:
        observer_.finished("failed", o.failure->reason);
        break;
      case ItemOutcome::Kind::kDrop:
        break;
    }
    if (!saved[i].status.ok()) {
      log::Warn("cannot record extraction",
                {{"token_pk", std::to_string(o.item.id)},
                 {"error", std::string(saved[i].status.message())}});
    }
  }
  int64_t freed = 0;
  for (const ItemOutcome& o : batch) freed += o.reserved_bytes;
  if (!to_pin.empty()) observer_.resources_queued(to_pin);
  {
    absl::MutexLock lock(&mu_);
    unwritten_ -= static_cast<int64_t>(batch.size());
    reserved_bytes_ -= freed;
  }
  StartAwaiting();
}

}  // namespace niftysave::extractor
