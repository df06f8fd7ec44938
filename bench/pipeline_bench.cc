// End-to-end throughput of the whole archive at scale (bench/pipeline_bench.sh,
// issue 14): the four services on LocalPipeline's Postgres, anvil and IPFS
// node, a realistic workload, and where the time and resources go.
//
// Workload (deterministic from --seed): --tokens tokens over --contracts
// collections (even ones DemoNFT ERC-721, odd ones DemoMulti ERC-1155),
// minted --per_tx (50) to a transaction. Each token has a metadata document and
// one image of 10-200 KB of pseudo-random bytes. About 30% are ipfs:// (both
// documents added to the IPFS node beforehand, and for car-store also put
// in the pinner's CAR store, since that backend cannot fetch a CID it does
// not hold); the rest are https:// or http:// on --hosts loopback addresses
// (127.0.0.2, ...) served by one fixture server that holds each answer
// --delay_ms.
//
// With --computed_uris the collections are BenchSiteNFT / BenchSiteMulti
// (testdata/contracts/BenchNFT.sol): URIs computed on chain, mints as events
// only, so a million tokens leave anvil's state a few slots.
//
// Output in --out_dir: queue_depth.csv (one row a second; the counts in it
// taken every max(1, tokens / 20,000) seconds), lease.csv (with
// --pg_statements: every 30 s, the work-queue lease statement's calls and
// mean execution time in that window, from pg_stat_statements), cpu.csv (CPU
// seconds of every process group from /proc), rss.csv (resident MB of each
// group's largest process), each a row a second, and summary.txt (also
// printed): tokens/s from the first mint to the last token settled, CPU a
// token, peak RSS.
#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/bench_util.h"
#include "common/db/pool.h"
#include "common/ipfs/car_store_backend.h"
#include "common/runtime/flags.h"
#include "nlohmann/json.hpp"
#include "tests/harness/net.h"
#include "tests/harness/peak_rss.h"
#include "tests/harness/temp_dir.h"
#include "tests/integration/local_pipeline.h"

ABSL_FLAG(int, tokens, 20000, "tokens to mint (100-1000000)");
ABSL_FLAG(std::string, backend, "car-store", "car-store or ipfs");
ABSL_FLAG(std::string, out_dir, "bench-out", "where the CSVs and logs go");
ABSL_FLAG(int, contracts, 20, "collections, half ERC-721, half ERC-1155");
ABSL_FLAG(int, hosts, 50, "web hosts 127.0.0.2 .. (1-60)");
ABSL_FLAG(int, delay_ms, 100, "each web answer is held this long (0-10000)");
ABSL_FLAG(int, ipfs_percent, 30, "share of ipfs:// tokens (0-100)");
ABSL_FLAG(uint64_t, seed, 1, "workload seed");
ABSL_FLAG(std::string, image_bytes, "10000-200000",
          "each image's size, uniform in MIN-MAX (1-10000000); small images "
          "for runs of hundreds of thousands of tokens");
ABSL_FLAG(int, per_tx, 50,
          "tokens minted a transaction (1-2000; anvil mines a block a "
          "transaction, and its cost a block grows with its state)");
ABSL_FLAG(bool, computed_uris, false,
          "mint with BenchSiteNFT / BenchSiteMulti: each token's URI is "
          "computed from its id (one of --hosts bases a collection), and "
          "mints are events only, so anvil's state and memory stay flat; "
          "for runs of a million tokens. Needs --ipfs_percent=0");
ABSL_FLAG(bool, mint_only, false,
          "only mint (no services), saying anvil's rate every 10,000 tokens");
ABSL_FLAG(std::string, anvil_flags, "",
          "more anvil flags, space-separated, e.g. --prune-history 2000");
ABSL_FLAG(int, timeout_seconds, 7200, "give up after this long");
ABSL_FLAG(std::string, indexer_flags, "",
          "more indexer flags, space-separated");
ABSL_FLAG(std::string, extractor_flags, "", "more extractor flags (A/B runs)");
ABSL_FLAG(std::string, pinner_flags, "",
          "more pinner flags, e.g. --workers=32");
ABSL_FLAG(std::string, tracker_flags, "", "more tracker flags");
ABSL_FLAG(std::string, postgres_settings, "",
          "more Postgres settings, name=value separated by spaces (A/B runs)");
ABSL_FLAG(bool, pg_statements, false,
          "load pg_stat_statements and write the 25 statements with the most "
          "execution time (and their planning time) to pg_statements.txt");

using namespace niftysave;

namespace {

constexpr char kOwner[] = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266";

using bench::OrDie;
using bench::Say;

struct Token {
  int contract;
  std::string id;
  std::string uri;
};

// ---- the workload ----

struct Range {
  size_t min, max;
};
Range g_image_bytes;

std::string Image(std::mt19937_64& rng, int token) {
  const size_t size =
      g_image_bytes.min + rng() % (g_image_bytes.max - g_image_bytes.min + 1);
  std::string bytes = absl::StrCat("\x89PNG\r\n\x1a\n", token, "\n");
  bytes.reserve(size);
  while (bytes.size() < size) {
    const uint64_t word = rng();
    bytes.append(reinterpret_cast<const char*>(&word), 8);
  }
  bytes.resize(size);
  return bytes;
}

class Workload {
 public:
  Workload(pipeline::LocalPipeline& p, harness::FixtureHttpServer& web,
           ipfs::CarStoreBackend* car_store)
      : p_(p), web_(web), car_store_(car_store) {}

  // Files on the web server, content on IPFS (and the CAR store); the URIs.
  // `computed`: each collection's URIs are bases(c)[id % hosts] + id +
  // ".json" (BenchSite), every token on the web server.
  std::vector<Token> Prepare(int n, int contracts, int hosts, int ipfs_percent,
                             uint64_t seed, bool computed) {
    if (computed) {
      std::mt19937_64 rng(seed);
      bases_.assign(contracts, {});
      for (int c = 0; c < contracts; ++c) {
        for (int h = 0; h < hosts; ++h)
          bases_[c].push_back(absl::StrCat(Base(rng, hosts), "/m/", c, "-"));
      }
    }
    std::vector<Token> tokens;
    for (int i = 0; i < n; ++i) {
      std::mt19937_64 rng(seed * 1'000'003 + i);
      const int id = i / contracts + 1;
      Token t{.contract = i % contracts, .id = absl::StrCat(id)};
      const std::string name = absl::StrCat(t.contract, "-", t.id);
      const std::string image = Image(rng, i);
      if (computed) {
        t.uri = absl::StrCat(bases_[t.contract][id % hosts], id, ".json");
        WriteWebToken(name, image, Base(rng, hosts));
      } else if (static_cast<int>(rng() % 100) < ipfs_percent) {
        const std::string img = Add(image);
        t.uri = "ipfs://" + Add(Meta(name, "ipfs://" + img));
      } else {
        t.uri = Base(rng, hosts) + "/m/" + name + ".json";
        WriteWebToken(name, image, Base(rng, hosts));
      }
      tokens.push_back(std::move(t));
      if ((i + 1) % (n > 100'000 ? 50'000 : 1'000) == 0)
        Say(absl::StrCat("  prepared ", i + 1));
    }
    return tokens;
  }

  // With `computed`, collection c's URI bases, for BenchSite.setBases.
  const std::vector<std::string>& bases(int c) const { return bases_[c]; }

 private:
  // /m/<name>.json naming /i/<name>.png on `image_base`.
  void WriteWebToken(const std::string& name, const std::string& image,
                     const std::string& image_base) {
    OrDie(harness::WriteFile(web_.root_dir() + "/i/" + name + ".png", image),
          "write image");
    OrDie(harness::WriteFile(web_.root_dir() + "/m/" + name + ".json",
                             Meta(name, image_base + "/i/" + name + ".png")),
          "write metadata");
  }

  // http or https on one of the hosts, half and half.
  std::string Base(std::mt19937_64& rng, int hosts) {
    const bool https = rng() % 2;
    return absl::StrCat(https ? "https://" : "http://", "127.0.0.",
                        2 + rng() % hosts, ":",
                        https ? web_.https_port() : web_.http_port());
  }
  static std::string Meta(const std::string& name, const std::string& image) {
    return nlohmann::ordered_json{{"name", "Bench " + name},
                                  {"description", "pipeline_bench token"},
                                  {"image", image}}
        .dump();
  }
  std::string Add(const std::string& bytes) {
    const std::string cid = OrDie(p_.AddToIpfs(bytes), "ipfs add");
    if (car_store_ != nullptr) {
      const std::string held = OrDie(car_store_->Upload(bytes, "f"), "car");
      if (held != cid) {
        OrDie(absl::InternalError(
                  absl::StrCat("IPFS node says ", cid, ", CAR store ", held)),
              "CIDs differ");
      }
    }
    return cid;
  }

  pipeline::LocalPipeline& p_;
  harness::FixtureHttpServer& web_;
  ipfs::CarStoreBackend* car_store_;
  std::vector<std::vector<std::string>> bases_;
};

// ---- /proc ----

struct Proc {
  pid_t ppid = 0;
  std::string group;
  double cpu = 0;  // utime + stime + reaped children's, seconds
  int64_t hwm_kb = -1;
  int64_t rss_kb = -1;
};

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Which part of the system a process is, by its command line.
std::string GroupOf(const std::string& cmdline) {
  for (const char* s : pipeline::LocalPipeline::kServices) {
    if (cmdline.find(absl::StrCat("niftysave-", s)) != std::string::npos)
      return s;
  }
  if (cmdline.find("fixture_http_server") != std::string::npos)
    return "http-server";
  // js-ipfs renames its process ("ipfs"), so its command line is not node's.
  if (cmdline.find("ipfs") != std::string::npos) return "ipfs-node";
  if (cmdline.find("postgres") != std::string::npos) return "postgres";
  if (cmdline.find("anvil") != std::string::npos) return "anvil";
  return "";
}

// The Postgres backend serving this bench's own queries (the progress
// counts, pg_stat_statements): its CPU is the measurement's, not the
// archive's, so it is its own group ("bench-queries"), outside the total.
pid_t sampler_backend = 0;

// Every process under this one, grouped. A group's CPU is the sum over its
// live processes of their own and their reaped children's time, so exited
// Postgres backends are counted through the postmaster.
std::map<pid_t, Proc> Scan() {
  std::map<pid_t, Proc> all;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::string stat = Slurp(absl::StrCat("/proc/", pid, "/stat"));
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    std::vector<std::string> f;
    while (rest >> field) f.push_back(field);
    if (f.size() < 15) continue;
    Proc p;
    p.ppid = std::atoi(f[1].c_str());
    // Fields 14-17 of stat (utime stime cutime cstime) are f[11..14].
    p.cpu = (std::stod(f[11]) + std::stod(f[12]) + std::stod(f[13]) +
             std::stod(f[14])) /
            hz;
    std::string cmd = Slurp(absl::StrCat("/proc/", pid, "/cmdline"));
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    p.group = pid == sampler_backend ? "bench-queries" : GroupOf(cmd);
    all[pid] = p;
  }
  if (d) closedir(d);
  std::map<pid_t, Proc> mine;
  const pid_t self = getpid();
  for (auto& [pid, p] : all) {
    if (p.group.empty()) continue;
    for (pid_t up = p.ppid; up > 1 && all.count(up); up = all[up].ppid) {
      if (up == self) {
        p.hwm_kb = harness::PeakRssKb(pid);
        p.rss_kb = harness::RssKb(pid);
        mine[pid] = p;
        break;
      }
    }
  }
  return mine;
}

const std::vector<std::string> kGroups = {"indexer",   "extractor",  "pinner",
                                          "tracker",   "postgres",   "anvil",
                                          "ipfs-node", "http-server"};

struct Usage {
  std::map<std::string, double> cpu;
  std::map<std::string, int64_t> hwm_kb;  // the largest process's
  std::map<std::string, int64_t> rss_kb;  // the largest process's, now
};
Usage Measure() {
  Usage u;
  for (const auto& [pid, p] : Scan()) {
    u.cpu[p.group] += p.cpu;
    u.hwm_kb[p.group] = std::max(u.hwm_kb[p.group], p.hwm_kb);
    u.rss_kb[p.group] = std::max(u.rss_kb[p.group], p.rss_kb);
  }
  return u;
}

template <typename V>
V Get(const std::map<std::string, V>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? V{} : it->second;
}

// ---- Postgres ----

constexpr char kQueueDepths[] =
    "SELECT CASE WHEN queue LIKE 'read_uri:%' THEN 'read_uri' ELSE queue END, "
    "count(*) FILTER (WHERE state = 'ready') FROM work_queue GROUP BY 1";
constexpr char kTokenCounts[] =
    "SELECT status, count(*) FROM tokens GROUP BY 1";
constexpr char kResourceCounts[] =
    "SELECT status, count(*) FROM resources GROUP BY 1";
constexpr char kFailures[] =
    "SELECT coalesce(reason, '-'), count(*) FROM tokens "
    "WHERE status = 'failed' GROUP BY 1 ORDER BY 2 DESC LIMIT 10";

using Counts = std::map<std::string, int64_t>;
Counts Query(db::Pool& pool, const char* sql) {
  Counts counts;
  absl::Status s = pool.Run([&](pqxx::work& txn) {
    for (const auto& row : txn.exec(sql)) {
      counts[row[0].as<std::string>()] = row[1].as<int64_t>();
    }
    return absl::OkStatus();
  });
  if (!s.ok()) Say(absl::StrCat("query failed: ", s.message()));
  return counts;
}

// The statements that cost Postgres the most during the run (reset at the
// first mint), from pg_stat_statements with planning tracked: what to
// optimise next, measured rather than guessed.
constexpr char kTopStatements[] = R"sql(
SELECT calls, round(total_exec_time::numeric, 1), round(total_plan_time::numeric, 1),
       round((total_exec_time / greatest(calls, 1))::numeric, 3), rows,
       left(regexp_replace(query, '\s+', ' ', 'g'), 110)
FROM pg_stat_statements
ORDER BY total_exec_time + total_plan_time DESC
LIMIT 25)sql";

// The work queue's lease statement (db::WorkQueue::Lease, every queue and
// service: one normalised statement) so far: calls, execution ms, rows.
constexpr char kLeaseTotals[] = R"sql(
SELECT coalesce(sum(calls), 0)::bigint, coalesce(sum(total_exec_time), 0)::float8,
       coalesce(sum(rows), 0)::bigint
FROM pg_stat_statements
WHERE query LIKE '%FOR UPDATE SKIP LOCKED%' AND query LIKE '%leased AS%')sql";

struct LeaseTotals {
  int64_t calls = 0;
  double exec_ms = 0;
  int64_t rows = 0;
};
LeaseTotals QueryLeaseTotals(db::Pool& pool) {
  LeaseTotals t;
  absl::Status s = pool.Run([&](pqxx::work& txn) {
    const pqxx::row r = txn.exec1(kLeaseTotals);
    t = {r[0].as<int64_t>(), r[1].as<double>(), r[2].as<int64_t>()};
    return absl::OkStatus();
  });
  if (!s.ok()) Say(absl::StrCat("lease totals: ", s.message()));
  return t;
}

std::string TopStatements(db::Pool& pool) {
  std::string out =
      absl::StrFormat("%8s %10s %9s %8s %9s  %s\n", "calls", "exec ms",
                      "plan ms", "ms/call", "rows", "statement");
  absl::Status s = pool.Run([&](pqxx::work& txn) {
    double exec = 0, plan = 0;
    for (const auto& r : txn.exec(kTopStatements)) {
      exec += r[1].as<double>();
      plan += r[2].as<double>();
      absl::StrAppend(
          &out, absl::StrFormat("%8d %10.1f %9.1f %8.3f %9d  %s\n",
                                r[0].as<int64_t>(), r[1].as<double>(),
                                r[2].as<double>(), r[3].as<double>(),
                                r[4].as<int64_t>(), r[5].as<std::string>()));
    }
    absl::StrAppend(&out, absl::StrFormat("top 25: %.0f ms executing, %.0f ms "
                                          "planning\n",
                                          exec, plan));
    return absl::OkStatus();
  });
  if (!s.ok()) return absl::StrCat("pg_stat_statements: ", s.message(), "\n");
  return out;
}

// ---- the run ----

// The artifact of collection c.
std::string ArtifactOf(int c) {
  if (absl::GetFlag(FLAGS_computed_uris))
    return c % 2 == 0 ? "BenchSiteNFT" : "BenchSiteMulti";
  return c % 2 == 0 ? "DemoNFT" : "DemoMulti";
}

void Mint(pipeline::LocalPipeline& p, const std::vector<std::string>& contracts,
          const std::vector<Token>& tokens) {
  const size_t per_tx = GetFlagInRange(FLAGS_per_tx, 1, 2000);
  const bool computed = absl::GetFlag(FLAGS_computed_uris);
  std::map<int, std::vector<const Token*>> by_contract;
  for (const Token& t : tokens) by_contract[t.contract].push_back(&t);
  // Round-robin over the collections, 50 tokens a transaction, so every
  // collection is being minted from the start. The rate is said every 10,000
  // tokens: anvil's own cost grows with its state.
  size_t minted = 0, said = 0;
  absl::Time since = absl::Now();
  for (size_t start = 0;; start += per_tx) {
    bool any = false;
    for (auto& [c, list] : by_contract) {
      if (start >= list.size()) continue;
      any = true;
      const size_t end = std::min(list.size(), start + per_tx);
      if (computed) {
        // Prepare numbers a collection's tokens 1, 2, ... in order.
        OrDie(p.chain().SiteMint(ArtifactOf(c), contracts[c], kOwner, start + 1,
                                 end - start),
              "mint");
        minted += end - start;
        continue;
      }
      std::vector<std::string> ids, uris;
      for (size_t i = start; i < end; ++i) {
        ids.push_back(list[i]->id);
        uris.push_back(list[i]->uri);
      }
      auto tx = c % 2 == 0
                    ? p.chain().MintBatch(contracts[c], kOwner, ids, uris)
                    : p.chain().MultiMintBatchWithUris(contracts[c], kOwner,
                                                       ids, uris);
      OrDie(tx, "mint");
      minted += ids.size();
    }
    if (minted >= said + 10'000) {
      const absl::Time now = absl::Now();
      Say(absl::StrFormat("  minted %d (%.0f tokens/s over the last %d)",
                          minted,
                          static_cast<double>(minted - said) /
                              absl::ToDoubleSeconds(now - since),
                          minted - said));
      said = minted;
      since = now;
    }
    if (!any) break;
  }
  OrDie(p.Confirm(), "confirm");
}

std::string Row(const std::string& name, const std::vector<std::string>& v) {
  std::string row = absl::StrFormat("%-12s", name);
  for (const std::string& s : v)
    absl::StrAppend(&row, absl::StrFormat("%12s", s));
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  ParseFlags(argc, argv,
             "pipeline_bench --tokens=N --backend=car-store|ipfs --out_dir=D");
  const int n = GetFlagInRange(FLAGS_tokens, 100, 1'000'000);
  const int contracts = GetFlagInRange(FLAGS_contracts, 2, 100);
  const int hosts = GetFlagInRange(FLAGS_hosts, 1, 60);
  const int delay_ms = GetFlagInRange(FLAGS_delay_ms, 0, 10'000);
  const int ipfs_percent = GetFlagInRange(FLAGS_ipfs_percent, 0, 100);
  const bool computed = absl::GetFlag(FLAGS_computed_uris);
  if (computed && ipfs_percent != 0) {
    DieWithConfigError("computed_uris",
                       "needs --ipfs_percent=0 (a computed URI cannot name "
                       "each token's own CID)");
  }
  {
    std::vector<std::string> range =
        absl::StrSplit(absl::GetFlag(FLAGS_image_bytes), '-');
    size_t lo = 0, hi = 0;
    if (range.size() != 2 || !absl::SimpleAtoi(range[0], &lo) ||
        !absl::SimpleAtoi(range[1], &hi) || lo < 1 || lo > hi ||
        hi > 10'000'000) {
      DieWithConfigError("image_bytes", "must be MIN-MAX within 1-10000000");
    }
    g_image_bytes = {lo, hi};
  }
  const std::string backend = absl::GetFlag(FLAGS_backend);
  if (backend != "car-store" && backend != "ipfs")
    DieWithConfigError("backend", "must be car-store or ipfs");
  const std::string out = absl::GetFlag(FLAGS_out_dir);
  std::filesystem::create_directories(out + "/web/m");
  std::filesystem::create_directories(out + "/web/i");
  std::filesystem::create_directories(out + "/logs");
  Say("starting");

  std::vector<std::string> host_list;
  for (int h = 0; h < hosts; ++h)
    host_list.push_back(absl::StrCat("127.0.0.", 2 + h));
  auto web =
      OrDie(harness::FixtureHttpServer::Start(
                out + "/web", {.hosts = host_list, .delay_ms = delay_ms}),
            "web server");
  Say(absl::StrCat("web server on 127.0.0.2-", 1 + hosts, " (http ",
                   web->http_port(), ", https ", web->https_port(), "), ",
                   delay_ms, " ms a response"));

  const std::string car_dir = out + "/car-store";
  std::vector<std::string> fetch = {"--allow_addresses=127.0.0.0/26",
                                    "--ca_file=" + web->ca_file()};
  std::vector<std::string> pin = fetch;
  // The production default, not LocalPipeline's 1 s for tests.
  std::vector<std::string> track = {"--stats_seconds=15"};
  if (backend == "car-store") {
    std::filesystem::remove_all(car_dir);
    for (auto* args : {&pin, &track}) {
      args->insert(args->end(),
                   {"--pin_backend=car-store", "--car_store_dir=" + car_dir});
    }
  }
  // The --<service>_flags of an A/B run come last, so they win.
  std::vector<std::string> index;
  for (auto [args, flag] : {std::pair{&index, &FLAGS_indexer_flags},
                            std::pair{&fetch, &FLAGS_extractor_flags},
                            std::pair{&pin, &FLAGS_pinner_flags},
                            std::pair{&track, &FLAGS_tracker_flags}}) {
    for (absl::string_view f :
         absl::StrSplit(absl::GetFlag(*flag), ' ', absl::SkipEmpty())) {
      args->emplace_back(f);
    }
  }
  std::vector<std::string> pg_settings = absl::StrSplit(
      absl::GetFlag(FLAGS_postgres_settings), ' ', absl::SkipEmpty());
  if (absl::GetFlag(FLAGS_pg_statements)) {
    pg_settings.push_back("shared_preload_libraries=pg_stat_statements");
    pg_settings.push_back("pg_stat_statements.track_planning=on");
  }
  auto p =
      OrDie(pipeline::LocalPipeline::Start(
                {.log_dir = out + "/logs",
                 .extra_args = {{"indexer", index},
                                {"extractor", fetch},
                                {"pinner", pin},
                                {"tracker", track}},
                 .postgres_settings = pg_settings,
                 .anvil_args = absl::StrSplit(absl::GetFlag(FLAGS_anvil_flags),
                                              ' ', absl::SkipEmpty())}),
            "local pipeline");
  std::unique_ptr<ipfs::CarStoreBackend> car_store;
  if (backend == "car-store") {
    car_store = OrDie(ipfs::CarStoreBackend::Open({.dir = car_dir}), "car");
  }

  Say(absl::StrCat("preparing ", n, " tokens over ", contracts,
                   " collections (seed ", absl::GetFlag(FLAGS_seed), ")"));
  Workload workload(*p, *web, car_store.get());
  const std::vector<Token> tokens = workload.Prepare(
      n, contracts, hosts, ipfs_percent, absl::GetFlag(FLAGS_seed), computed);
  std::vector<std::string> addresses;
  for (int c = 0; c < contracts; ++c) {
    addresses.push_back(OrDie(p->chain().Deploy(ArtifactOf(c)), "deploy"));
    if (computed) {
      OrDie(p->chain().SiteSetBases(ArtifactOf(c), addresses.back(),
                                    workload.bases(c)),
            "setBases");
    }
  }
  if (absl::GetFlag(FLAGS_mint_only)) {
    const absl::Time start = absl::Now();
    Mint(*p, addresses, tokens);
    Say(absl::StrFormat("minted %d tokens in %.1f s", n,
                        absl::ToDoubleSeconds(absl::Now() - start)));
    return 0;
  }
  OrDie(p->StartAllServices(), "start services");
  Say(absl::StrCat("services up (", backend, "); minting"));

  auto pool = OrDie(db::Pool::Create(p->database_url(), 1), "pool");
  OrDie(pool->Run([](pqxx::work& txn) {
    sampler_backend = txn.exec1("SELECT pg_backend_pid()")[0].as<int>();
    return absl::OkStatus();
  }),
        "backend pid");
  if (absl::GetFlag(FLAGS_pg_statements)) {
    OrDie(pool->Run([](pqxx::work& txn) {
      txn.exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      txn.exec("SELECT pg_stat_statements_reset()");
      return absl::OkStatus();
    }),
          "pg_stat_statements");
  }
  const Usage before = Measure();
  const absl::Time mint_start = absl::Now();
  std::thread minter([&] { Mint(*p, addresses, tokens); });
  double mint_seconds = 0;
  std::atomic<bool> minted{false};
  std::thread mint_clock([&] {
    minter.join();
    mint_seconds = absl::ToDoubleSeconds(absl::Now() - mint_start);
    minted = true;
  });

  const std::vector<std::string> queues = {"read_uri", "extract", "pin",
                                           "track"};
  std::ofstream csv(out + "/queue_depth.csv");
  csv << "seconds,read_uri,extract,pin,track,tokens_seen,tokens_settled,"
         "resources_pending\n";
  std::ofstream cpu_csv(out + "/cpu.csv");
  cpu_csv << "seconds," << absl::StrJoin(kGroups, ",") << ",bench-queries\n";
  std::ofstream rss_csv(out + "/rss.csv");
  rss_csv << "seconds," << absl::StrJoin(kGroups, ",") << "\n";
  // Counting tokens and resources by status reads both tables whole, and
  // the queue depths the whole queue, so large runs count less often (every
  // second up to 20,000 tokens, every 10 s at 200,000: at 200,000 counting
  // every second was 106 s of Postgres's time).
  const int count_every = std::max(1, n / 20'000);
  // Lease times against queue depth, in 30 s windows (--pg_statements).
  const bool leases = absl::GetFlag(FLAGS_pg_statements);
  std::ofstream lease_csv;
  LeaseTotals lease_before;
  if (leases) {
    lease_csv.open(out + "/lease.csv");
    lease_csv << "seconds,leases,mean_ms,rows_a_lease,extract_ready,"
                 "pin_ready\n";
  }
  int tick = 0;
  int64_t seen = 0, pending = 0;
  Counts depth;
  const absl::Time deadline =
      absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_timeout_seconds));
  int64_t settled = 0;
  absl::Time next = absl::Now();
  while (absl::Now() < deadline) {
    absl::SleepFor(next - absl::Now());
    next += absl::Seconds(1);
    const double t = absl::ToDoubleSeconds(absl::Now() - mint_start);
    if (tick++ % count_every == 0) {
      depth = Query(*pool, kQueueDepths);
      Counts status = Query(*pool, kTokenCounts);
      Counts resources = Query(*pool, kResourceCounts);
      seen = 0;
      for (const auto& [s, c] : status) seen += c;
      settled = status["archived"] + status["failed"] + status["partial"];
      pending = resources["queued"] + resources["pinning"];
    }
    csv << absl::StrFormat("%.1f,%d,%d,%d,%d,%d,%d,%d\n", t, depth["read_uri"],
                           depth["extract"], depth["pin"], depth["track"], seen,
                           settled, pending);
    csv.flush();
    const bool done = minted && settled >= n;
    if (leases && (tick % 30 == 0 || done)) {
      const LeaseTotals now = QueryLeaseTotals(*pool);
      const int64_t calls = now.calls - lease_before.calls;
      lease_csv << absl::StrFormat(
          "%.1f,%d,%.3f,%.1f,%d,%d\n", t, calls,
          calls > 0 ? (now.exec_ms - lease_before.exec_ms) / calls : 0.0,
          calls > 0 ? static_cast<double>(now.rows - lease_before.rows) / calls
                    : 0.0,
          depth["extract"], depth["pin"]);
      lease_csv.flush();
      lease_before = now;
    }
    const Usage u = Measure();
    cpu_csv << absl::StrFormat("%.1f", t);
    for (const std::string& g : kGroups)
      cpu_csv << absl::StrFormat(",%.2f", Get(u.cpu, g) - Get(before.cpu, g));
    cpu_csv << absl::StrFormat(",%.2f\n", Get(u.cpu, "bench-queries") -
                                              Get(before.cpu, "bench-queries"));
    rss_csv << absl::StrFormat("%.1f", t);
    for (const std::string& g : kGroups)
      rss_csv << absl::StrFormat(",%.1f", Get(u.rss_kb, g) / 1024.0);
    rss_csv << "\n";
    if (static_cast<int>(t) % 5 == 0) {
      Say(absl::StrFormat(
          "queues read_uri %d extract %d pin %d track %d | tokens seen %d "
          "settled %d/%d",
          depth["read_uri"], depth["extract"], depth["pin"], depth["track"],
          seen, settled, n));
    }
    if (done) break;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - mint_start);
  const Usage after = Measure();
  mint_clock.join();
  const Counts status = Query(*pool, kTokenCounts);
  const Counts failures = Query(*pool, kFailures);
  // What the records take on disk, tables and indexes, for sizing.
  const Counts db_size =
      Query(*pool, "SELECT 'bytes', pg_database_size(current_database())");
  if (absl::GetFlag(FLAGS_pg_statements)) {
    OrDie(harness::WriteFile(out + "/pg_statements.txt", TopStatements(*pool)),
          "pg_statements");
  }
  OrDie(p->StopAllServices(), "stop services");
  // TCP connections the web server accepted: with connections kept alive,
  // far fewer than the requests (each https one is a TLS handshake on both
  // sides).
  auto connections = [&](const std::string& scheme) -> int64_t {
    absl::StatusOr<harness::HttpResponse> r = harness::Fetch(
        {.url = absl::StrCat(web->http_url(), "/connections?scheme=", scheme)});
    int64_t count = -1;
    if (r.ok() && r->status == 200 &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(r->body), &count)) {
      return count;
    }
    return -1;
  };
  const int64_t http_connections = connections("http");
  const int64_t https_connections = connections("https");

  std::string summary = absl::StrFormat(
      "pipeline_bench: %d tokens, backend %s, %d collections, %d hosts at %d "
      "ms, %d%% ipfs://, seed %d\n"
      "settled %d of %d in %.1f s after the first mint (minting took %.1f s): "
      "%.1f tokens/s\n"
      "tokens: archived %d, partial %d, failed %d\n",
      n, backend, contracts, hosts, delay_ms, ipfs_percent,
      absl::GetFlag(FLAGS_seed), settled, n, seconds, mint_seconds,
      settled / seconds, status.count("archived") ? status.at("archived") : 0,
      status.count("partial") ? status.at("partial") : 0,
      status.count("failed") ? status.at("failed") : 0);
  for (const auto& [reason, count] : failures)
    absl::StrAppend(&summary, "  failed ", reason, ": ", count, "\n");
  absl::StrAppend(&summary, "\n",
                  Row("process", {"cpu s", "cpu ms/tok", "peak RSS MB"}), "\n");
  double total = 0;
  for (const std::string& g : kGroups) {
    const double cpu = Get(after.cpu, g) - Get(before.cpu, g);
    total += cpu;
    const int64_t hwm = after.hwm_kb.count(g) ? after.hwm_kb.at(g) : -1;
    absl::StrAppend(
        &summary,
        Row(g, {absl::StrFormat("%.1f", cpu),
                absl::StrFormat("%.2f", 1000 * cpu / n),
                hwm < 0 ? "-" : absl::StrFormat("%.1f", hwm / 1024.0)}),
        "\n");
  }
  absl::StrAppend(&summary,
                  Row("total", {absl::StrFormat("%.1f", total),
                                absl::StrFormat("%.2f", 1000 * total / n), ""}),
                  "\n");
  {
    const double cpu =
        Get(after.cpu, "bench-queries") - Get(before.cpu, "bench-queries");
    absl::StrAppend(
        &summary,
        Row("bench-queries", {absl::StrFormat("%.1f", cpu),
                              absl::StrFormat("%.2f", 1000 * cpu / n), ""}),
        "\n");
  }
  absl::StrAppend(&summary,
                  "(peak RSS: the largest process of the group; "
                  "bench-queries: the Postgres backend of this bench's own "
                  "progress counts, not in the total)\n");
  if (auto it = db_size.find("bytes"); it != db_size.end()) {
    absl::StrAppend(&summary,
                    absl::StrFormat("Postgres database: %.1f MB, %.1f KB a "
                                    "token\n",
                                    it->second / 1e6, it->second / 1e3 / n));
  }
  absl::StrAppend(
      &summary,
      absl::StrFormat(
          "web server: %d connections accepted (http %d, https "
          "%d), %.2f a token\n",
          http_connections + https_connections, http_connections,
          https_connections,
          static_cast<double>(http_connections + https_connections) / n));
  std::printf("\n%s", summary.c_str());
  OrDie(harness::WriteFile(out + "/summary.txt", summary), "summary");
  return settled >= n ? 0 : 1;
}
