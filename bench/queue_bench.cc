// The durable work queue's cost as it grows (bench/queue_bench.sh, issue 14:
// "queue lease times stay flat as the queue grows"), on a throwaway Postgres
// with the real schema and the real db::WorkQueue.
//
// Fill: --items ids enqueued in hand-offs of --enqueue_batch (what the
// indexer's and extractor's hand-offs do), each hand-off's latency kept with
// the depth it ran at.
//
// Drain: --workers threads, each leasing --batch items at a time and
// recording outcomes in one transaction a batch (CompleteMany; about
// --retry_percent of the items RescheduleMany'd 1 s ahead instead, as a
// failed download would be), while a feeder keeps handing off
// --feed_per_second new ids at the tail. Every lease's and outcome's latency
// is kept with the depth it ran at.
//
// Report (printed, and queue_bench.csv in --out_dir): p50/p99 per depth
// decile for the hand-offs and for the leases and outcomes, items a second
// per decile; then the table's and the due index's size and dead tuples,
// which is where a queue's cost grows if it grows.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/bench_util.h"
#include "common/db/migrations.h"
#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "common/runtime/flags.h"
#include "tests/harness/postgres_server.h"

ABSL_FLAG(int, items, 1'000'000,
          "items queued before the drain (1000-5000000)");
ABSL_FLAG(int, workers, 8, "threads leasing and recording outcomes (1-64)");
ABSL_FLAG(int, batch, 50, "items a lease (1-1000)");
ABSL_FLAG(int, enqueue_batch, 1000, "ids a hand-off while filling (1-10000)");
ABSL_FLAG(int, retry_percent, 10,
          "share of leased items rescheduled 1 s ahead instead of completed "
          "(0-100)");
ABSL_FLAG(int, feed_per_second, 500,
          "new ids handed off a second while draining (0-100000)");
ABSL_FLAG(std::string, postgres_settings, "",
          "more Postgres settings, name=value separated by spaces (A/B runs)");
ABSL_FLAG(std::string, out_dir, "bench-out/queue",
          "where queue_bench.csv goes");

using namespace niftysave;

namespace {

using bench::OrDie;
using bench::Say;

// One timed call: the queue's depth when it started, what it took.
struct Sample {
  int64_t depth;
  int64_t ns;
  int64_t items;
};

class Samples {
 public:
  void Add(int64_t depth, absl::Duration took, int64_t items) {
    std::lock_guard lock(mu_);
    all_.push_back({depth, absl::ToInt64Nanoseconds(took), items});
  }
  std::vector<Sample> Take() {
    std::lock_guard lock(mu_);
    return std::move(all_);
  }

 private:
  std::mutex mu_;
  std::vector<Sample> all_;
};

double PercentileMs(std::vector<int64_t> ns, double q) {
  if (ns.empty()) return 0;
  std::sort(ns.begin(), ns.end());
  const size_t i = static_cast<size_t>(q * static_cast<double>(ns.size()));
  return static_cast<double>(ns[std::min(i, ns.size() - 1)]) / 1e6;
}

// The samples of one depth decile [lo, hi).
struct Decile {
  int64_t lo, hi;
  std::vector<int64_t> ns;
  int64_t items = 0;
  int64_t total_ns = 0;
};

std::vector<Decile> ByDecile(const std::vector<Sample>& samples,
                             int64_t max_depth) {
  std::vector<Decile> d;
  const int64_t step = std::max<int64_t>(1, (max_depth + 9) / 10);
  for (int i = 0; i < 10; ++i) d.push_back({i * step, (i + 1) * step, {}});
  for (const Sample& s : samples) {
    Decile& b = d[std::clamp<int64_t>(s.depth / step, 0, 9)];
    b.ns.push_back(s.ns);
    b.items += s.items;
    b.total_ns += s.ns;
  }
  return d;
}

std::string Thousands(int64_t v) {
  return v >= 1000 ? absl::StrCat(v / 1000, "k") : absl::StrCat(v);
}

// Prints (and writes to csv) one table: a row a depth decile, deepest first.
void Report(const std::string& phase, const std::vector<Sample>& samples,
            int64_t max_depth, std::ofstream& csv) {
  std::printf("\n%s\n%-16s %10s %10s %10s %12s\n", phase.c_str(), "depth",
              "calls", "p50 ms", "p99 ms", "items/call");
  std::vector<Decile> d = ByDecile(samples, max_depth);
  for (auto it = d.rbegin(); it != d.rend(); ++it) {
    if (it->ns.empty()) continue;
    const double p50 = PercentileMs(it->ns, 0.50);
    const double p99 = PercentileMs(it->ns, 0.99);
    const double per_call =
        static_cast<double>(it->items) / static_cast<double>(it->ns.size());
    const std::string range =
        absl::StrCat(Thousands(it->lo), "-", Thousands(it->hi));
    std::printf("%-16s %10zu %10.2f %10.2f %12.1f\n", range.c_str(),
                it->ns.size(), p50, p99, per_call);
    csv << absl::StrFormat("%s,%d,%d,%d,%.3f,%.3f,%.1f\n", phase, it->lo,
                           it->hi, it->ns.size(), p50, p99, per_call);
  }
}

// The table's and the due index's size and dead tuples.
std::string TableStats(db::Pool& pool) {
  std::string out;
  OrDie(pool.Run([&](pqxx::work& txn) {
    auto r = txn.exec(
        "SELECT pg_size_pretty(pg_relation_size('work_queue')), "
        "pg_size_pretty(pg_relation_size('work_queue_due')), "
        "pg_size_pretty(pg_relation_size('work_queue_pkey')), "
        "n_live_tup, n_dead_tup, autovacuum_count "
        "FROM pg_stat_user_tables WHERE relname = 'work_queue'");
    out = absl::StrFormat(
        "work_queue %s, work_queue_due %s, pkey %s; live %d, dead %d "
        "tuples; autovacuums %d",
        r[0][0].c_str(), r[0][1].c_str(), r[0][2].c_str(),
        r[0][3].as<int64_t>(), r[0][4].as<int64_t>(), r[0][5].as<int64_t>());
    return absl::OkStatus();
  }),
        "table stats");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  ParseFlags(argc, argv, "queue_bench --items=N --workers=W --batch=B");
  const int64_t n = GetFlagInRange(FLAGS_items, 1000, 5'000'000);
  const int workers = GetFlagInRange(FLAGS_workers, 1, 64);
  const int batch = GetFlagInRange(FLAGS_batch, 1, 1000);
  const int enqueue_batch = GetFlagInRange(FLAGS_enqueue_batch, 1, 10'000);
  const int retry_percent = GetFlagInRange(FLAGS_retry_percent, 0, 100);
  const int feed = GetFlagInRange(FLAGS_feed_per_second, 0, 100'000);
  const std::string out = absl::GetFlag(FLAGS_out_dir);
  std::filesystem::create_directories(out);
  Say("starting");

  std::vector<std::string> settings = absl::StrSplit(
      absl::GetFlag(FLAGS_postgres_settings), ' ', absl::SkipEmpty());
  auto pg = OrDie(harness::PostgresServer::Start("", settings), "postgres");
  const std::string url = pg->ConnectionString();
  OrDie(db::Migrate(url).status(), "migrate");
  auto pool = OrDie(db::Pool::Create(url, workers + 2), "pool");
  Say(absl::StrCat("postgres up; filling the queue with ", n, " items"));

  // Fill.
  Samples enqueues;
  const absl::Time fill_start = absl::Now();
  for (int64_t next = 1; next <= n;) {
    std::vector<int64_t> ids;
    for (; next <= n && ids.size() < static_cast<size_t>(enqueue_batch);)
      ids.push_back(next++);
    const int64_t depth = next - 1 - static_cast<int64_t>(ids.size());
    const absl::Time t = absl::Now();
    OrDie(pool->Run([&](pqxx::work& txn) {
      db::WorkQueue::Enqueue(txn, "extract", ids);
      return absl::OkStatus();
    }),
          "enqueue");
    enqueues.Add(depth, absl::Now() - t, static_cast<int64_t>(ids.size()));
  }
  const double fill_s = absl::ToDoubleSeconds(absl::Now() - fill_start);
  Say(absl::StrFormat("filled in %.1f s (%.0f items/s); %s", fill_s,
                      static_cast<double>(n) / fill_s, TableStats(*pool)));

  // Drain, with a feeder at the tail.
  std::atomic<int64_t> depth{n};
  std::atomic<int64_t> fed{0};
  std::atomic<bool> stop{false};
  Samples leases, outcomes;
  db::QueuePolicy policy;
  policy.lease = absl::Minutes(5);
  std::thread feeder([&] {
    if (feed == 0) return;
    int64_t next = n + 1;
    const int per_tick = std::max(1, feed / 10);
    // Until the queue is about down to the last seconds of feed, so the
    // drain ends.
    while (!stop && depth.load() > 2 * feed) {
      std::vector<int64_t> ids;
      for (int i = 0; i < per_tick; ++i) ids.push_back(next++);
      OrDie(pool->Run([&](pqxx::work& txn) {
        db::WorkQueue::Enqueue(txn, "extract", ids);
        return absl::OkStatus();
      }),
            "feed");
      depth += per_tick;
      fed += per_tick;
      absl::SleepFor(absl::Milliseconds(100));
    }
  });
  const absl::Time drain_start = absl::Now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      db::WorkQueue queue(*pool, "extract", absl::StrCat("bench-", w), policy);
      std::mt19937_64 rng(w + 1);
      int idle = 0;
      while (idle < 20) {
        const int64_t at = depth.load();
        absl::Time t = absl::Now();
        std::vector<db::QueueItem> items = OrDie(queue.Lease(batch), "lease");
        leases.Add(at, absl::Now() - t, static_cast<int64_t>(items.size()));
        if (items.empty()) {
          // Only rescheduled items are left, due within a second.
          ++idle;
          absl::SleepFor(absl::Milliseconds(100));
          continue;
        }
        idle = 0;
        std::vector<db::QueueItem> done, retry;
        for (const db::QueueItem& item : items) {
          const bool again = item.attempts == 1 &&
                             static_cast<int>(rng() % 100) < retry_percent;
          (again ? retry : done).push_back(item);
        }
        t = absl::Now();
        OrDie(pool->Run([&](pqxx::work& txn) {
          queue.CompleteMany(txn, done);
          queue.RescheduleMany(txn, retry, "bench: retry", absl::Seconds(1));
          return absl::OkStatus();
        }),
              "outcome");
        outcomes.Add(at, absl::Now() - t, static_cast<int64_t>(items.size()));
        depth -= static_cast<int64_t>(done.size());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  stop = true;
  feeder.join();
  const double drain_s = absl::ToDoubleSeconds(absl::Now() - drain_start);
  const int64_t total = n + fed.load();
  Say(absl::StrFormat(
      "drained %d items (%d fed during the drain) in %.1f s: %.0f items/s "
      "with %d workers, %d a lease; %s",
      total, fed.load(), drain_s, static_cast<double>(total) / drain_s, workers,
      batch, TableStats(*pool)));

  std::ofstream csv(out + "/queue_bench.csv");
  csv << "phase,depth_from,depth_to,calls,p50_ms,p99_ms,items_per_call\n";
  const int64_t max_depth = std::max(n, total);
  Report("hand-off (Enqueue) while filling", enqueues.Take(), n, csv);
  Report("lease while draining", leases.Take(), max_depth, csv);
  Report("outcomes (CompleteMany + RescheduleMany) while draining",
         outcomes.Take(), max_depth, csv);
  std::printf("\nwritten: %s/queue_bench.csv\n", out.c_str());
  return 0;
}
