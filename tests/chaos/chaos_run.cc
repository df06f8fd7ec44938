#include "tests/chaos/chaos_run.h"

#include <deque>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/db/pool.h"
#include "tests/chaos/chaos_workload.h"

namespace niftysave::chaos {
namespace {

using pipeline::LocalPipeline;

// The queue a service's workers lease from (none for the indexer).
const char* QueueOf(const std::string& service) {
  if (service == "extractor") return "extract";
  if (service == "pinner") return "pin";
  if (service == "tracker") return "track";
  return nullptr;
}

constexpr char kLeasesHeld[] =
    "SELECT count(*) FROM work_queue WHERE queue = $1 "
    "AND leased_by IS NOT NULL AND run_after > now()";
constexpr char kIndexedUpTo[] =
    "SELECT coalesce(max(next_block), 0) FROM chains WHERE chain_id = $1";

// One short query on a fresh connection (Postgres may have restarted since
// the last one); -1 when it fails.
int64_t QueryInt(const std::string& url, const char* sql,
                 const std::string& arg) {
  auto pool = db::Pool::Create(url, 1);
  if (!pool.ok()) return -1;
  int64_t value = -1;
  (void)(*pool)->Run([&](pqxx::work& txn) {
    value = txn.exec_params1(sql, arg)[0].as<int64_t>();
    return absl::OkStatus();
  });
  return value;
}

LocalPipeline::Options PipelineOptions(const Profile& profile,
                                       const std::string& run) {
  LocalPipeline::Options options;
  if (!profile.log_dir.empty()) options.log_dir = profile.log_dir + "/" + run;
  options.extra_args = profile.extra_args;
  options.rpc_proxy = true;
  return options;
}

// Waits (bounded) until the indexer has indexed up to the chain's head less
// its confirmations, so a reorg after this undoes records it wrote.
void WaitIndexed(LocalPipeline& p) {
  auto head = p.chain().BlockNumber();
  if (!head.ok()) return;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline &&
         QueryInt(p.database_url(), kIndexedUpTo,
                  std::to_string(LocalPipeline::kChainId)) <
             static_cast<int64_t>(*head)) {
    absl::SleepFor(absl::Milliseconds(200));
  }
}

// After the workload's last transaction both runs mine empty blocks, as a
// live chain does: the indexer notices a reorg only once a block comes after
// the reorged height, and no record depends on these blocks.
void KeepChainMoving(LocalPipeline& p) { (void)p.chain().Mine(1); }

// For a run that did not settle: what waits in which queue, and the last
// lines of each service's log, so a failure in CI says where it stuck.
std::string StuckReport(LocalPipeline& p) {
  std::string out = "\nqueues (queue/state/attempts: items):";
  auto pool = db::Pool::Create(p.database_url(), 1);
  if (pool.ok()) {
    (void)(*pool)->Run([&](pqxx::work& txn) {
      for (const auto& row :
           txn.exec("SELECT queue, state, attempts, count(*) FROM work_queue "
                    "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")) {
        absl::StrAppend(&out, " ", row[0].as<std::string>(), "/",
                        row[1].as<std::string>(), "/", row[2].as<int>(), ": ",
                        row[3].as<int64_t>());
      }
      return absl::OkStatus();
    });
  }
  for (const char* service : LocalPipeline::kServices) {
    std::ifstream log(p.log_path(service));
    std::deque<std::string> tail;
    for (std::string line; std::getline(log, line);) {
      tail.push_back(line.substr(0, 400));
      if (tail.size() > 6) tail.pop_front();
    }
    absl::StrAppend(&out, "\n--- ", service, " log, last lines:");
    for (const std::string& line : tail) absl::StrAppend(&out, "\n", line);
  }
  return out;
}

std::string Seconds(absl::Duration d) {
  return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d));
}

// One fault at its seeded moment. Kills are followed by a restart event.
struct Event {
  enum Kind { kKill, kStart, kPostgres, kIpfs, kMint, kReorg } kind;
  std::string service;
  int depth = 0;  // kReorg
  int wave = 0;   // kMint
  int tries = 0;
};

class FaultRun {
 public:
  FaultRun(const Profile& profile, const Reference& reference, LocalPipeline& p,
           Workload& workload)
      : profile_(profile),
        reference_(reference),
        p_(p),
        workload_(workload),
        rng_(profile.seed * 7919 + 13) {}

  absl::StatusOr<ChaosResult> Run();

 private:
  absl::Duration Uniform(absl::Duration lo, absl::Duration hi) {
    std::uniform_real_distribution<double> d(absl::ToDoubleSeconds(lo),
                                             absl::ToDoubleSeconds(hi));
    return absl::Seconds(d(rng_));
  }
  void Schedule();
  absl::Status Execute(Event e, absl::Duration at);
  // Starts again what exited without being killed (what Kubernetes does).
  void Supervise();
  void Log(std::string what) {
    result_.faults.push_back(
        absl::StrCat(Seconds(absl::Now() - start_), " ", what));
  }

  const Profile& profile_;
  const Reference& reference_;
  LocalPipeline& p_;
  Workload& workload_;
  std::mt19937_64 rng_;
  std::multimap<absl::Duration, Event> events_;
  std::set<std::string> down_;  // killed, restart pending
  absl::Time start_;
  ChaosResult result_;
};

void FaultRun::Schedule() {
  const absl::Duration lo = absl::Seconds(1), hi = profile_.fault_window;
  for (const std::string& s : profile_.kill_services) {
    for (int i = 0; i < profile_.kills_per_service; ++i)
      events_.insert({Uniform(lo, hi), {Event::kKill, s}});
  }
  for (int i = 0; i < profile_.postgres_restarts; ++i)
    events_.insert({Uniform(lo, hi), {Event::kPostgres}});
  for (int i = 0; i < profile_.ipfs_restarts; ++i)
    events_.insert({Uniform(lo, hi), {Event::kIpfs}});
  const absl::Duration minting = profile_.fault_window * 0.6;
  for (int i = 0; i < profile_.mint_waves; ++i) {
    events_.insert(
        {minting * i / profile_.mint_waves, {.kind = Event::kMint, .wave = i}});
  }
  // The transfers need every token minted: after the last wave.
  events_.insert(
      {Uniform(minting, hi),
       {.kind = Event::kReorg,
        .depth = profile_.reorg ? 1 + static_cast<int>(rng_() % 10) : 0}});
}

absl::Status FaultRun::Execute(Event e, absl::Duration at) {
  switch (e.kind) {
    case Event::kKill: {
      if (down_.count(e.service)) return absl::OkStatus();  // already down
      // Aim at a worker in the middle of a step: wait (briefly) until it
      // holds a lease, so the kill falls between a call and its record.
      int64_t held = 0;
      if (const char* queue = QueueOf(e.service)) {
        const absl::Time until = absl::Now() + absl::Seconds(3);
        while ((held = QueryInt(p_.database_url(), kLeasesHeld, queue)) <= 0 &&
               absl::Now() < until) {
          absl::SleepFor(absl::Milliseconds(50));
        }
      }
      if (absl::Status s = p_.KillService(e.service); !s.ok()) return s;
      down_.insert(e.service);
      Log(absl::StrCat(
          "kill -9 ", e.service,
          QueueOf(e.service)
              ? absl::StrCat(" (", std::max<int64_t>(held, 0), " leases held)")
              : ""));
      events_.insert({at + Uniform(absl::Milliseconds(200), absl::Seconds(2)),
                      {Event::kStart, e.service}});
      return absl::OkStatus();
    }
    case Event::kStart: {
      absl::Status s = p_.StartService(e.service);
      if (s.ok()) {
        down_.erase(e.service);
        Log("started " + e.service);
        return absl::OkStatus();
      }
      if (++e.tries > 10) return s;
      Log(absl::StrCat("start of ", e.service,
                       " failed, retrying: ", s.message().substr(0, 200)));
      events_.insert({at + absl::Seconds(2), e});
      return absl::OkStatus();
    }
    case Event::kPostgres:
      Log("Postgres immediate stop");
      if (absl::Status s = p_.RestartPostgresImmediately(); !s.ok()) return s;
      Log("Postgres started on the same data");
      return absl::OkStatus();
    case Event::kIpfs:
      Log("IPFS node kill -9");
      if (absl::Status s = p_.RestartIpfsNode(); !s.ok()) return s;
      Log("IPFS node started on the same repo");
      return absl::OkStatus();
    case Event::kMint:
      if (absl::Status s = workload_.Mint(p_, e.wave, profile_.mint_waves);
          !s.ok())
        return s;
      Log(absl::StrCat("minted wave ", e.wave + 1, "/", profile_.mint_waves));
      return absl::OkStatus();
    case Event::kReorg:
      // The reorg must undo what the indexer wrote: start it first if it
      // is down.
      if (down_.count("indexer") && e.depth > 0) {
        for (auto it = events_.begin(); it != events_.end(); ++it) {
          if (it->second.kind != Event::kStart ||
              it->second.service != "indexer")
            continue;
          Event start = it->second;
          events_.erase(it);
          if (absl::Status s = Execute(start, at); !s.ok()) return s;
          break;
        }
      }
      Log(e.depth > 0
              ? absl::StrCat("transfers with a reorg of depth ", e.depth)
              : "transfers");
      if (absl::Status s =
              workload_.Transfer(p_, e.depth, [&] { WaitIndexed(p_); });
          !s.ok())
        return s;
      Log("reorg done");
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

void FaultRun::Supervise() {
  for (const char* name : LocalPipeline::kServices) {
    if (down_.count(name) || p_.ServiceRunning(name)) continue;
    ++result_.self_exits;
    Log(absl::StrCat(name, " exited on its own; log: ",
                     harness::TailOfFile(p_.log_path(name), 300)));
    down_.insert(name);
    events_.insert({absl::Now() - start_, {Event::kStart, name}});
  }
}

absl::StatusOr<ChaosResult> FaultRun::Run() {
  Schedule();
  start_ = absl::Now();
  harness::RpcProxy& proxy = *p_.rpc_proxy();
  if (profile_.rpc_error_rate > 0) {
    harness::RpcProxy::Fault fault{.kind = "status",
                                   .probability = profile_.rpc_error_rate,
                                   .seed = static_cast<uint32_t>(profile_.seed),
                                   .times = -1};
    if (absl::Status s = proxy.AddFault(fault); !s.ok()) return s;
    Log(absl::StrCat("RPC errors on: HTTP 503 for ",
                     profile_.rpc_error_rate * 100, "% of requests"));
  }
  while (!events_.empty()) {
    auto next = events_.begin();
    while (absl::Now() - start_ < next->first) {
      Supervise();
      absl::SleepFor(absl::Milliseconds(100));
      next = events_.begin();
    }
    auto [at, event] = *next;
    events_.erase(next);
    if (absl::Status s = Execute(event, at); !s.ok()) return s;
    Supervise();
  }
  if (absl::Now() - start_ < profile_.fault_window)
    absl::SleepFor(profile_.fault_window - (absl::Now() - start_));
  if (profile_.rpc_error_rate > 0) {
    auto stats = proxy.GetStats();
    (void)proxy.ClearFaults();
    Log(absl::StrCat("RPC errors off (",
                     stats.ok() ? stats->faults["status"] : -1, " of ",
                     stats.ok() ? stats->requests : -1, " requests failed)"));
  }

  const absl::Time last_fault = absl::Now();
  const absl::Time deadline = last_fault + profile_.settle_timeout;
  while (absl::Now() < deadline) {
    Supervise();
    KeepChainMoving(p_);
    while (!events_.empty()) {  // restarts of services that died since
      auto [at, event] = *events_.begin();
      events_.erase(events_.begin());
      if (absl::Status s = Execute(event, at); !s.ok()) return s;
    }
    auto records = ReadRecords(p_.database_url());
    auto inv = CheckInvariants(p_.database_url(), "", p_.rpc_url());
    if (records.ok() && inv.ok()) {
      result_.diff = Compare(reference_.records, *records);
      result_.invariants = *inv;
      if (result_.diff.empty() && inv->ok()) {
        result_.converged = true;
        result_.converged_after_last_fault = absl::Now() - last_fault;
        break;
      }
    }
    absl::SleepFor(absl::Milliseconds(500));
  }
  auto final_inv =
      CheckInvariants(p_.database_url(), p_.ipfs_api_url(), p_.rpc_url());
  if (!final_inv.ok()) return final_inv.status();
  result_.invariants = *final_inv;
  if (!result_.converged)
    result_.converged_after_last_fault = absl::Now() - last_fault;
  return result_;
}

}  // namespace

absl::StatusOr<Reference> RunReference(const Profile& profile) {
  auto started = LocalPipeline::Start(
      PipelineOptions(profile, absl::StrCat("reference-", profile.seed)));
  if (!started.ok()) return started.status();
  LocalPipeline& p = **started;
  Workload workload(profile.seed, profile.tokens);
  const absl::Time start = absl::Now();
  if (absl::Status s = p.StartAllServices(); !s.ok()) return s;
  if (absl::Status s = workload.Prepare(p); !s.ok()) return s;
  for (int wave = 0; wave < profile.mint_waves; ++wave) {
    if (absl::Status s = workload.Mint(p, wave, profile.mint_waves); !s.ok())
      return s;
  }
  if (absl::Status s = workload.Transfer(p, 0, [] {}); !s.ok()) return s;

  // Settled: every token in, nothing in flight, and the same records twice.
  Reference reference;
  Records last;
  const absl::Time deadline = absl::Now() + profile.settle_timeout;
  while (true) {
    auto records = ReadRecords(p.database_url());
    if (!records.ok()) return records.status();
    auto inv = CheckInvariants(p.database_url(), "", p.rpc_url());
    if (!inv.ok()) return inv.status();
    const bool all_in =
        static_cast<int>((*records)["tokens"].size()) == workload.tokens();
    if (all_in && inv->ok() && Compare(last, *records).empty()) {
      reference.records = *std::move(records);
      break;
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the fault-free run did not settle: ", (*records)["tokens"].size(),
          " of ", workload.tokens(), " tokens; ", inv->ToString(),
          StuckReport(p)));
    }
    last = *std::move(records);
    KeepChainMoving(p);
    absl::SleepFor(absl::Seconds(1));
  }
  reference.settled_in = absl::Now() - start;
  reference.summary = workload.Summary();
  auto inv = CheckInvariants(p.database_url(), p.ipfs_api_url(), p.rpc_url());
  if (!inv.ok()) return inv.status();
  reference.invariants = *inv;
  reference.ports = p.public_ports();
  return reference;
}

absl::StatusOr<ChaosResult> RunWithFaults(const Profile& profile,
                                          const Reference& reference) {
  LocalPipeline::Options options =
      PipelineOptions(profile, absl::StrCat("faults-", profile.seed));
  options.ports = reference.ports;
  auto started = LocalPipeline::Start(options);
  if (!started.ok()) return started.status();
  LocalPipeline& p = **started;
  Workload workload(profile.seed, profile.tokens);
  if (absl::Status s = p.StartAllServices(); !s.ok()) return s;
  if (absl::Status s = workload.Prepare(p); !s.ok()) return s;
  FaultRun run(profile, reference, p, workload);
  return run.Run();
}

std::string Reference::Counts() const {
  std::string out;
  for (const auto& [table, rows] : records) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", table, " ", rows.size());
  }
  std::map<std::string, int> by_status;
  for (const auto& [_, values] : records.at("tokens")) {
    for (const std::string& v : values) ++by_status[v.substr(0, v.find('|'))];
  }
  absl::StrAppend(&out, "; tokens:");
  for (const auto& [status, n] : by_status)
    absl::StrAppend(&out, " ", n, " ", status);
  return out;
}

std::string ChaosResult::ToString() const {
  std::string out = "faults:";
  for (const std::string& f : faults) absl::StrAppend(&out, "\n  ", f);
  absl::StrAppend(&out, "\nservices that exited on their own: ", self_exits,
                  "\n", converged ? "converged " : "NOT converged ",
                  Seconds(converged_after_last_fault),
                  " after the last fault\nrecords vs the fault-free run: ",
                  diff.ToString(), "\ninvariants: ", invariants.ToString());
  return out;
}

}  // namespace niftysave::chaos
