// GetTokenStatus latency under a fixed request rate (issue 6: p99 under 5 ms
// at 1,000 requests/s against 1,000,000 tokens). Run by bench/query_bench.sh.
//
// It starts a private Postgres, migrates it, seeds --tokens tokens (each with
// its metadata resource and one or two assets, their pins, and a mix of
// statuses), starts the real niftysave-tracker binary, and then sends
// Tracker.GetTokenStatus for random existing keys from an open-loop
// generator: request i is due at start + i/rate whatever happened to the
// ones before it, and its latency is measured from that due time, so a
// stalled server shows up in the figures instead of slowing the sender down
// (no coordinated omission). Every answer is checked against what was seeded.
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/db/migrations.h"
#include "common/grpc/grpc_server.h"
#include "grpcpp/grpcpp.h"
#include "niftysave/v1/tracker.grpc.pb.h"
#include "pqxx/pqxx"
#include "tests/harness/net.h"
#include "tests/harness/postgres_server.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

ABSL_FLAG(int64_t, tokens, 1000000, "tokens to seed (1000-50000000)");
ABSL_FLAG(int, contracts, 100,
          "contracts the tokens are spread over (1-10000)");
ABSL_FLAG(double, rate, 1000, "requests per second (1-100000)");
ABSL_FLAG(double, seconds, 30, "measured duration (1-3600)");
ABSL_FLAG(double, warmup_seconds, 5,
          "load at the same rate before measuring, not recorded (0-600)");
ABSL_FLAG(int, deadline_ms, 1000, "per-call gRPC deadline (10-60000)");
ABSL_FLAG(int, db_pool_size, 8, "the tracker's --db_pool_size (1-200)");
ABSL_FLAG(std::string, keep_db, "",
          "keep the seeded cluster in this directory and reuse it on the next "
          "run with the same --tokens/--contracts (skips seeding)");
ABSL_FLAG(std::string, tracker_bin, NIFTYSAVE_TRACKER_BIN,
          "the niftysave-tracker binary to measure (default: this build's)");
ABSL_FLAG(std::string, log_dir, "",
          "where the tracker log goes (default: tmp)");

namespace niftysave::bench {
namespace {

constexpr uint64_t kChainId = 1;

// ---------------------------------------------------------------------------
// The seeded data set. Token t (1..N) is token number k+1 of contract c, with
// c = (t-1) % C and k = (t-1) / C; every tenth contract uses uint256-sized
// ids (10^70 + k + 1). Its status comes from h = (13k + 7c) % 100:
//   h < 70  archived   metadata and every asset pinned
//   h < 85  extracted  metadata pinned, assets still pinning
//   h < 95  queued     no resources yet
//   h < 98  failed     http_4xx, no resources
//   else    failed     pin_failed: the first asset's pin failed
// A token with resources has 2 assets when (k + c) % 3 == 0, else 1. The
// load generator computes the same plan to check every answer.
struct Plan {
  int64_t c = 0;
  int64_t k = 0;
  v1::TokenStatus status = v1::TOKEN_STATUS_UNSPECIFIED;
  int assets = 0;  // 0 when the token has no resources
};

Plan PlanOf(int64_t t, int64_t contracts) {
  Plan p{.c = (t - 1) % contracts, .k = (t - 1) / contracts};
  const int64_t h = (p.k * 13 + p.c * 7) % 100;
  p.status = h < 70   ? v1::TOKEN_STATUS_ARCHIVED
             : h < 85 ? v1::TOKEN_STATUS_EXTRACTED
             : h < 95 ? v1::TOKEN_STATUS_QUEUED
                      : v1::TOKEN_STATUS_FAILED;
  const bool has_resources = h < 85 || h >= 98;
  p.assets = has_resources ? ((p.k + p.c) % 3 == 0 ? 2 : 1) : 0;
  return p;
}

std::string TokenIdOf(const Plan& p) {
  if (p.c % 10 == 9) return absl::StrFormat("1%070d", p.k + 1);
  return absl::StrCat(p.k + 1);
}

// The seed, in one transaction; each statement names the parameters it
// takes. Resource ids are 3t-2 (metadata), 3t-1 and 3t (assets); a pin's id is
// its resource's. CIDs are 59 base32 characters derived from the resource id.
enum class Args { kNone, kTokens, kTokensContracts, kChain, kChainContracts };
struct SeedStep {
  Args args;
  const char* sql;
};
constexpr SeedStep kSeed[] = {
    {Args::kNone, R"sql(SET LOCAL temp_buffers = '1GB')sql"},
    {Args::kNone, R"sql(SET LOCAL work_mem = '256MB')sql"},
    {Args::kNone, R"sql(SET LOCAL synchronous_commit = off)sql"},
    // The rows are consistent by construction: skip the per-row foreign key
    // triggers, as a bulk load does.
    {Args::kNone, R"sql(SET LOCAL session_replication_role = replica)sql"},
    {Args::kNone,
     R"sql(CREATE FUNCTION pg_temp.bench_cid(id bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT 'bafybei' || translate(md5(id::text) || lpad(to_hex(id), 20, 'a'), '0189', 'wxyz')
$$)sql"},
    {Args::kNone, R"sql(CREATE TEMP TABLE bench_plan (
  t bigint, c bigint, k bigint, h bigint, assets int) ON COMMIT DROP)sql"},
    {Args::kTokensContracts, R"sql(INSERT INTO bench_plan
SELECT t, c, k, (k * 13 + c * 7) % 100, CASE WHEN (k + c) % 3 = 0 THEN 2 ELSE 1 END
FROM (SELECT t, (t - 1) % $2::bigint AS c, (t - 1) / $2::bigint AS k
      FROM generate_series(1::bigint, $1::bigint) t) s)sql"},
    {Args::kNone, R"sql(CREATE TEMP TABLE bench_res (
  id bigint, t bigint, c bigint, k bigint, slot int, kind text, cid text,
  normalized text, uri text, status text) ON COMMIT DROP)sql"},
    // Every fifth asset was an https:// URL (downloaded and uploaded: no
    // source CID, a pinned root); the second asset is named by gateway URL.
    {Args::kNone, R"sql(INSERT INTO bench_res
SELECT id, t, c, k, slot, kind, cid,
       CASE WHEN kind = 'http' THEN 'https://img' || c || '.example.com/media/' || (k + 1) || '.png'
            WHEN slot = 0 THEN 'ipfs://' || cid || '/metadata.json'
            ELSE 'ipfs://' || cid END,
       CASE WHEN kind = 'http' THEN 'https://img' || c || '.example.com/media/' || (k + 1) || '.png'
            WHEN slot = 0 THEN 'ipfs://' || cid || '/metadata.json'
            WHEN slot = 2 THEN 'https://ipfs.io/ipfs/' || cid
            ELSE 'ipfs://' || cid END,
       status
FROM (SELECT 3 * p.t - 2 + s.slot AS id, p.t, p.c, p.k, s.slot,
             CASE WHEN s.slot > 0 AND (p.t + s.slot) % 5 = 0 THEN 'http' ELSE 'ipfs' END AS kind,
             pg_temp.bench_cid(3 * p.t - 2 + s.slot) AS cid,
             CASE WHEN s.slot = 0 OR p.h < 70 THEN 'pinned'
                  WHEN p.h < 85 THEN 'pinning'
                  WHEN s.slot = 1 THEN 'failed'
                  ELSE 'pinned' END AS status
      FROM bench_plan p CROSS JOIN LATERAL generate_series(0, p.assets) AS s(slot)
      WHERE p.h < 85 OR p.h >= 98) x)sql"},
    {Args::kChain,
     R"sql(INSERT INTO chains (chain_id, name, next_block, head_block)
VALUES ($1::bigint, 'bench', 20000000, 20000012))sql"},
    {Args::kChainContracts,
     R"sql(INSERT INTO contracts (chain_id, address, standard, name, symbol, first_block, interfaces)
SELECT $1::bigint, decode(substr(md5('contract' || c) || md5('c2' || c), 1, 40), 'hex'),
       CASE WHEN c % 10 = 9 THEN 'erc1155' ELSE 'erc721' END,
       'Collection ' || c, 'C' || c, c, '{80ac58cd,5b5e139f}'
FROM generate_series(0, $2::bigint - 1) c)sql"},
    {Args::kNone,
     R"sql(INSERT INTO resources (id, uri_hash, normalized, kind, cid, path, status, reason, detail,
                       pinned_cid, size, content_type, created_at, updated_at)
SELECT id, sha256(convert_to(normalized, 'UTF8')), normalized, kind,
       CASE WHEN kind = 'ipfs' THEN cid END,
       CASE WHEN slot = 0 THEN '/metadata.json' ELSE '' END,
       status,
       CASE WHEN status = 'failed' THEN 'pin_failed' END,
       CASE WHEN status = 'failed' THEN 'kubo: pin reported failed' END,
       cid,
       CASE WHEN slot = 0 THEN 400 + id % 800 ELSE 20000 + (id * 7919) % 2000000 END,
       CASE WHEN slot = 0 THEN 'application/json' ELSE 'image/png' END,
       now() - interval '30 days', now() - interval '1 day'
FROM bench_res)sql"},
    {Args::kChain,
     R"sql(INSERT INTO tokens (id, chain_id, contract, token_id, token_uri, owner, mint_block, mint_tx,
                    status, reason, detail, metadata_resource_id, standard, uri_block,
                    created_at, updated_at)
SELECT p.t, $1::bigint, decode(substr(md5('contract' || p.c) || md5('c2' || p.c), 1, 40), 'hex'),
       CASE WHEN p.c % 10 = 9 THEN 10::numeric ^ 70 + p.k + 1 ELSE p.k + 1 END,
       CASE WHEN p.h < 85 OR p.h >= 98 THEN 'ipfs://' || pg_temp.bench_cid(3 * p.t - 2) || '/metadata.json'
            ELSE 'https://api' || p.c || '.example.com/token/' || (p.k + 1) END,
       decode(substr(md5('owner' || p.t % 50000) || md5('o2' || p.t % 50000), 1, 40), 'hex'),
       15000000 + p.t / 4, sha256(int8send(p.t)),
       CASE WHEN p.h < 70 THEN 'archived' WHEN p.h < 85 THEN 'extracted'
            WHEN p.h < 95 THEN 'queued' ELSE 'failed' END,
       CASE WHEN p.h >= 98 THEN 'pin_failed' WHEN p.h >= 95 THEN 'http_4xx' END,
       CASE WHEN p.h >= 98 THEN 'an asset could not be pinned'
            WHEN p.h >= 95 THEN 'HTTP 404 from api' || p.c || '.example.com' END,
       CASE WHEN p.h < 85 OR p.h >= 98 THEN 3 * p.t - 2 END,
       CASE WHEN p.c % 10 = 9 THEN 'erc1155' ELSE 'erc721' END,
       15000000 + p.t / 4, now() - interval '30 days', now() - interval '1 day'
FROM bench_plan p)sql"},
    {Args::kNone,
     R"sql(INSERT INTO token_resources (token_pk, json_path, resource_id, role, uri)
SELECT t, CASE slot WHEN 0 THEN '' WHEN 1 THEN '$.image' ELSE '$.animation_url' END, id,
       CASE WHEN slot = 0 THEN 'metadata' ELSE 'asset' END, uri
FROM bench_res)sql"},
    {Args::kNone,
     R"sql(INSERT INTO pins (id, cid, backend, request_id, status, reason, detail, checks,
                  created_at, updated_at)
SELECT id, cid, 'kubo', NULL, status,
       CASE WHEN status = 'failed' THEN 'pin_failed' END,
       CASE WHEN status = 'failed' THEN 'pin/add: context deadline exceeded' END,
       1 + id % 5, now() - interval '30 days', now() - interval '1 day'
FROM bench_res)sql"},
    {Args::kNone,
     R"sql(INSERT INTO metadata (resource_id, sha256, size, content_type, raw, doc)
SELECT id, sha256(raw), length(raw), 'application/json', raw, convert_from(raw, 'UTF8')::jsonb
FROM (SELECT id, convert_to(
          '{"name":"Token #' || (k + 1) || '","description":"Collection ' || c ||
          ', token ' || (k + 1) || '.","image":"ipfs://' || pg_temp.bench_cid(id + 1) ||
          '","attributes":[{"trait_type":"Background","value":"Hue ' || (k % 17) ||
          '"},{"trait_type":"Eyes","value":"Kind ' || (k % 23) || '"}]}', 'UTF8') AS raw
      FROM bench_res WHERE slot = 0) m)sql"},
    {Args::kTokens, R"sql(SELECT setval('tokens_id_seq', $1::bigint),
       setval('resources_id_seq', 3 * $1::bigint),
       setval('pins_id_seq', 3 * $1::bigint))sql"},
    {Args::kNone,
     R"sql(CREATE TABLE bench_seed (tokens bigint NOT NULL, contracts bigint NOT NULL,
                         seeded_at timestamptz NOT NULL DEFAULT now()))sql"},
    {Args::kTokensContracts,
     R"sql(INSERT INTO bench_seed (tokens, contracts) VALUES ($1::bigint, $2::bigint))sql"},
};

// Seeds unless the database already holds this seed. Returns the seconds
// spent seeding (0 when reused).
absl::StatusOr<double> SeedIfNeeded(const std::string& url, int64_t tokens,
                                    int64_t contracts) {
  try {
    pqxx::connection conn(url);
    {
      pqxx::nontransaction txn(conn);
      if (txn.exec("SELECT to_regclass('bench_seed') IS NOT NULL")[0][0]
              .as<bool>()) {
        pqxx::result r = txn.exec("SELECT tokens, contracts FROM bench_seed");
        if (r.size() == 1 && r[0][0].as<int64_t>() == tokens &&
            r[0][1].as<int64_t>() == contracts) {
          return 0.0;
        }
        return absl::FailedPreconditionError(
            "the kept database holds another seed: remove the --keep_db "
            "directory or pass the --tokens/--contracts it was seeded with");
      }
      if (txn.exec(
                 "SELECT count(*) FROM (SELECT 1 FROM tokens LIMIT 1) t")[0][0]
              .as<int64_t>() != 0) {
        return absl::FailedPreconditionError(
            "the database has tokens but no bench seed: use a fresh "
            "--keep_db directory");
      }
    }
    const absl::Time start = absl::Now();
    {
      pqxx::work txn(conn);
      const auto chain = static_cast<int64_t>(kChainId);
      for (const SeedStep& step : kSeed) {
        switch (step.args) {
          case Args::kNone:
            txn.exec(step.sql);
            break;
          case Args::kTokens:
            txn.exec_params(step.sql, tokens);
            break;
          case Args::kTokensContracts:
            txn.exec_params(step.sql, tokens, contracts);
            break;
          case Args::kChain:
            txn.exec_params(step.sql, chain);
            break;
          case Args::kChainContracts:
            txn.exec_params(step.sql, chain, contracts);
            break;
        }
      }
      txn.commit();
    }
    // Statistics for the planner and hint bits set once, so neither the
    // first queries nor autovacuum run during the measurement.
    pqxx::nontransaction txn(conn);
    txn.exec("VACUUM (ANALYZE)");
    txn.exec("CHECKPOINT");
    return absl::ToDoubleSeconds(absl::Now() - start);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("seeding: ", e.what()));
  }
}

// ---------------------------------------------------------------------------
// Postgres: a throwaway harness cluster, or (--keep_db) one in a directory
// that outlives the run.
class BenchPostgres {
 public:
  static absl::StatusOr<std::unique_ptr<BenchPostgres>> Start(
      const std::string& keep_dir) {
    auto pg = std::unique_ptr<BenchPostgres>(new BenchPostgres());
    if (keep_dir.empty()) {
      auto server = harness::PostgresServer::Start();
      if (!server.ok()) return server.status();
      pg->temp_ = std::move(*server);
      pg->url_ = pg->temp_->ConnectionString();
      return pg;
    }
    if (absl::Status s = pg->StartKept(keep_dir); !s.ok()) return s;
    return pg;
  }
  ~BenchPostgres() {
    if (kept_ != nullptr)
      kept_->Terminate(absl::Seconds(60), SIGINT).IgnoreError();
  }
  const std::string& url() const { return url_; }

 private:
  BenchPostgres() = default;

  absl::Status StartKept(const std::string& keep_dir) {
    std::error_code ec;
    const std::string dir = std::filesystem::absolute(keep_dir, ec).string();
    std::string bin;
    for (const auto& e :
         std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      if (std::filesystem::exists(e.path() / "bin/postgres", ec) &&
          (bin.empty() || e.path().string() > bin)) {
        bin = e.path().string();
      }
    }
    if (bin.empty()) return absl::NotFoundError("no /usr/lib/postgresql/*");
    bin += "/bin";
    const std::string user = geteuid() == 0 ? "postgres" : "";
    const std::string data = dir + "/data";
    const bool fresh = !std::filesystem::exists(data + "/PG_VERSION", ec);
    if (fresh) {
      std::filesystem::create_directories(dir, ec);
      if (ec) return absl::InternalError("cannot create " + dir);
      if (!user.empty()) {
        auto out = harness::RunCommand({"chown", "-R", user + ":", dir},
                                       absl::Seconds(30));
        if (!out.ok()) return out.status();
      }
      auto out = harness::RunCommand(
          {bin + "/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E",
           "UTF8", "--locale=C.UTF-8", "--no-sync"},
          absl::Seconds(120), {}, user);
      if (!out.ok()) return out.status();
    }
    const int port = harness::PickFreePort();
    auto server = harness::Subprocess::Start(
        {bin + "/postgres", "-D", data, "-p", absl::StrCat(port), "-k", dir,
         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
         "max_connections=200"},
        {}, dir + "/postgres.log", user);
    if (!server.ok()) return server.status();
    kept_ = std::move(*server);
    absl::Status ready =
        harness::WaitUntilReady(*kept_, "postgres", absl::Seconds(60), [&] {
          return harness::RunCommand(
                     {bin + "/pg_isready", "-q", "-h", "127.0.0.1", "-p",
                      absl::StrCat(port), "-U", "postgres", "-t", "1"},
                     absl::Seconds(5))
              .status();
        });
    if (!ready.ok()) return ready;
    if (fresh) {
      auto out = harness::RunCommand(
          {bin + "/createdb", "-h", "127.0.0.1", "-p", absl::StrCat(port), "-U",
           "postgres", "niftysave"},
          absl::Seconds(30));
      if (!out.ok()) return out.status();
    }
    url_ = absl::StrCat("postgresql://postgres@127.0.0.1:", port, "/niftysave");
    return absl::OkStatus();
  }

  std::unique_ptr<harness::PostgresServer> temp_;
  std::unique_ptr<harness::Subprocess> kept_;
  std::string url_;
};

// ---------------------------------------------------------------------------
// CPU and memory of processes, from /proc.
int64_t Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void SleepUntil(int64_t deadline_ns) {
  timespec ts{.tv_sec = static_cast<time_t>(deadline_ns / 1000000000),
              .tv_nsec = static_cast<long>(deadline_ns % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) ==
         EINTR) {
  }
}

// utime + stime of `pid`, in seconds; -1 if it is gone.
double CpuSeconds(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return -1;
  // Fields after the command (which may hold spaces) start after ") ".
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> f = absl::StrSplit(line.substr(close + 2), ' ');
  int64_t utime = 0, stime = 0;
  // state is field 3 of the full line, utime 14 and stime 15.
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &utime) ||
      !absl::SimpleAtoi(f[12], &stime)) {
    return -1;
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

// A "Key:   value kB" line of /proc/PID/status, in kB (or the plain value).
int64_t StatusField(int pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::vector<std::string> parts = absl::StrSplit(
        line.substr(key.size() + 1), absl::ByAnyChar(" \t"), absl::SkipEmpty());
    int64_t v = 0;
    if (!parts.empty() && absl::SimpleAtoi(parts[0], &v)) return v;
  }
  return -1;
}

// CPU seconds of the postmaster and each of its children (backends,
// background workers), by pid.
std::map<int, double> ClusterCpu(int postmaster) {
  std::map<int, double> cpu;
  cpu[postmaster] = CpuSeconds(postmaster);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    int pid = 0;
    if (!absl::SimpleAtoi(e.path().filename().string(), &pid)) continue;
    if (StatusField(pid, "PPid") == postmaster) cpu[pid] = CpuSeconds(pid);
  }
  return cpu;
}

// What the cluster used between two snapshots: processes that ended in
// between are missed, new ones count from zero.
double ClusterCpuDelta(const std::map<int, double>& before,
                       const std::map<int, double>& after) {
  double total = 0;
  for (const auto& [pid, seconds] : after) {
    auto it = before.find(pid);
    total += std::max(0.0, seconds - (it == before.end() ? 0 : it->second));
  }
  return total;
}

double SelfCpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// ---------------------------------------------------------------------------
// The open-loop load generator.
struct Call {
  grpc::ClientContext context;
  v1::TokenStatusReport reply;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::TokenStatusReport>> rpc;
  int64_t t = 0;
  int64_t due_ns = 0;
  int64_t sent_ns = 0;
  bool measured = false;
};

struct Results {
  std::vector<int64_t> latency_ns;  // from the due time, every measured call
  std::vector<int64_t> lag_ns;      // how late the sender was
  std::map<std::string, int64_t> errors;  // by gRPC code
  int64_t wrong = 0;                      // answered, but not what was seeded
  std::string first_wrong;
  int64_t last_done_ns = 0;
};

// Empty when the report matches the seed plan of token t.
std::string CheckReply(const v1::TokenStatusReport& r, const Plan& p,
                       const std::string& token_id) {
  if (r.token().token_id() != token_id) return "token_id differs";
  if (r.status() != p.status)
    return absl::StrCat("status ", r.status(), " want ", p.status);
  if (r.assets_size() != p.assets)
    return absl::StrCat("assets ", r.assets_size(), " want ", p.assets);
  if (r.has_metadata() != (p.assets > 0)) return "metadata presence differs";
  if (r.has_metadata() && r.metadata().pins_size() != 1)
    return absl::StrCat("metadata pins ", r.metadata().pins_size());
  for (const v1::Asset& a : r.assets()) {
    if (a.resource().pins_size() != 1)
      return absl::StrCat(a.json_path(), " pins ", a.resource().pins_size());
  }
  return "";
}

class LoadGenerator {
 public:
  LoadGenerator(std::shared_ptr<grpc::Channel> channel, int64_t tokens,
                int64_t contracts, std::vector<std::string> contract_hex)
      : stub_(v1::Tracker::NewStub(std::move(channel))),
        tokens_(tokens),
        contracts_(contracts),
        contract_hex_(std::move(contract_hex)) {}

  // Sends `warmup + measured` calls at `rate`, due times on a fixed grid;
  // `on_measure_start` runs just before the first measured call is sent.
  Results Run(double rate, int64_t warmup, int64_t measured,
              absl::Duration deadline,
              const std::function<void()>& on_measure_start) {
    Results results;
    results.latency_ns.reserve(measured);
    results.lag_ns.reserve(measured);
    std::thread receiver([&] { Receive(results); });
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<int64_t> pick(1, tokens_);
    const double period_ns = 1e9 / rate;
    const int64_t start = Now() + 10000000;
    // The snapshot at the start of the measurement runs beside the sender,
    // so reading /proc does not make the first measured calls late.
    std::thread snapshot([&] {
      SleepUntil(start + static_cast<int64_t>(warmup * period_ns));
      on_measure_start();
    });
    for (int64_t i = 0; i < warmup + measured; ++i) {
      const int64_t due = start + static_cast<int64_t>(i * period_ns);
      SleepUntil(due);
      auto* call = new Call;
      call->t = pick(rng);
      call->due_ns = due;
      call->measured = i >= warmup;
      const Plan p = PlanOf(call->t, contracts_);
      v1::GetTokenStatusRequest request;
      request.mutable_token()->set_chain_id(kChainId);
      request.mutable_token()->set_contract(contract_hex_[p.c]);
      request.mutable_token()->set_token_id(TokenIdOf(p));
      call->context.set_deadline(std::chrono::system_clock::now() +
                                 absl::ToChronoMilliseconds(deadline));
      in_flight_.fetch_add(1);
      call->sent_ns = Now();
      call->rpc =
          stub_->PrepareAsyncGetTokenStatus(&call->context, request, &cq_);
      call->rpc->StartCall();
      call->rpc->Finish(&call->reply, &call->status, call);
    }
    // Every call ends by its deadline.
    const int64_t give_up =
        Now() + absl::ToInt64Nanoseconds(deadline) + 2000000000LL;
    while (in_flight_.load() > 0 && Now() < give_up)
      absl::SleepFor(absl::Milliseconds(5));
    cq_.Shutdown();
    receiver.join();
    snapshot.join();
    return results;
  }

 private:
  void Receive(Results& results) {
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
      const int64_t done = Now();
      std::unique_ptr<Call> call(static_cast<Call*>(tag));
      in_flight_.fetch_sub(1);
      if (!call->measured) continue;
      results.latency_ns.push_back(done - call->due_ns);
      results.lag_ns.push_back(call->sent_ns - call->due_ns);
      results.last_done_ns = std::max(results.last_done_ns, done);
      if (!call->status.ok()) {
        ++results.errors[absl::StrCat(call->status.error_code(), " ",
                                      call->status.error_message())];
        continue;
      }
      const Plan p = PlanOf(call->t, contracts_);
      std::string wrong = CheckReply(call->reply, p, TokenIdOf(p));
      if (!wrong.empty()) {
        if (results.wrong++ == 0)
          results.first_wrong = absl::StrCat("token ", call->t, ": ", wrong);
      }
    }
  }

  std::unique_ptr<v1::Tracker::Stub> stub_;
  grpc::CompletionQueue cq_;
  std::atomic<int64_t> in_flight_{0};
  const int64_t tokens_;
  const int64_t contracts_;
  const std::vector<std::string> contract_hex_;
};

double Percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size()));
  return sorted[std::min(i, sorted.size() - 1)] / 1e6;
}

absl::StatusOr<std::vector<std::string>> ContractAddresses(
    const std::string& url, int64_t contracts) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction txn(conn);
    std::vector<std::string> hex(contracts);
    for (const auto& row : txn.exec_params(
             "SELECT first_block, encode(address, 'hex') FROM contracts "
             "WHERE chain_id = $1",
             static_cast<int64_t>(kChainId))) {
      const int64_t c = row[0].as<int64_t>();
      if (c >= 0 && c < contracts) hex[c] = "0x" + row[1].as<std::string>();
    }
    for (const std::string& h : hex) {
      if (h.empty()) return absl::InternalError("a seeded contract is missing");
    }
    return hex;
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  }
}

// The postmaster's pid (a backend's parent) and the database size.
absl::StatusOr<std::pair<int, int64_t>> ClusterInfo(const std::string& url) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction txn(conn);
    pqxx::result r = txn.exec(
        "SELECT pg_backend_pid(), pg_database_size(current_database())");
    const int parent = static_cast<int>(StatusField(r[0][0].as<int>(), "PPid"));
    return std::make_pair(parent, r[0][1].as<int64_t>());
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  }
}

template <typename T>
T FlagOrDie(const absl::Flag<T>& flag, const char* name, T lo, T hi) {
  const T v = absl::GetFlag(flag);
  if (!(v >= lo && v <= hi)) {
    std::fprintf(stderr, "query_bench: --%s: must be %s-%s\n", name,
                 absl::StrCat(lo).c_str(), absl::StrCat(hi).c_str());
    std::exit(2);
  }
  return v;
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "query_bench: %s\n", std::string(s.message()).c_str());
  return 1;
}

int Main() {
  const int64_t tokens =
      FlagOrDie<int64_t>(FLAGS_tokens, "tokens", 1000, 50000000);
  const int64_t contracts = FlagOrDie(FLAGS_contracts, "contracts", 1, 10000);
  const double rate = FlagOrDie(FLAGS_rate, "rate", 1.0, 100000.0);
  const double seconds = FlagOrDie(FLAGS_seconds, "seconds", 1.0, 3600.0);
  const double warmup =
      FlagOrDie(FLAGS_warmup_seconds, "warmup_seconds", 0.0, 600.0);
  const int deadline_ms =
      FlagOrDie(FLAGS_deadline_ms, "deadline_ms", 10, 60000);
  const int pool_size = FlagOrDie(FLAGS_db_pool_size, "db_pool_size", 1, 200);

  auto scratch = harness::TempDir::Create("niftysave-query-bench");
  if (!scratch.ok()) return Fail(scratch.status());
  std::string log_dir = absl::GetFlag(FLAGS_log_dir);
  if (log_dir.empty()) log_dir = scratch->path();

  auto pg = BenchPostgres::Start(absl::GetFlag(FLAGS_keep_db));
  if (!pg.ok()) return Fail(pg.status());
  const std::string url = (*pg)->url();
  if (auto v = db::Migrate(url); !v.ok()) return Fail(v.status());
  std::printf("seeding %lld tokens over %lld contracts...\n",
              static_cast<long long>(tokens),
              static_cast<long long>(contracts));
  std::fflush(stdout);
  absl::StatusOr<double> seed = SeedIfNeeded(url, tokens, contracts);
  if (!seed.ok()) return Fail(seed.status());
  auto info = ClusterInfo(url);
  if (!info.ok()) return Fail(info.status());
  auto contract_hex = ContractAddresses(url, contracts);
  if (!contract_hex.ok()) return Fail(contract_hex.status());

  const int grpc_port = harness::PickFreePort();
  const int metrics_port = harness::PickFreePort();
  const std::string car_dir = scratch->path() + "/car";
  std::filesystem::create_directories(car_dir);
  auto tracker = harness::Subprocess::Start(
      {absl::GetFlag(FLAGS_tracker_bin), "--database_url=" + url,
       absl::StrCat("--grpc_listen=127.0.0.1:", grpc_port),
       absl::StrCat("--metrics_listen=127.0.0.1:", metrics_port),
       absl::StrCat("--db_pool_size=", pool_size), "--pin_backend=car-store",
       "--car_store_dir=" + car_dir, "--log_level=warn", "--drain_seconds=5"},
      {}, log_dir + "/tracker.log");
  if (!tracker.ok()) return Fail(tracker.status());
  absl::Status up =
      harness::WaitUntilReady(**tracker, "niftysave-tracker", absl::Seconds(20),
                              [&] { return harness::CheckTcp(grpc_port); });
  if (!up.ok()) return Fail(up);

  // The tracker it starts serves plaintext on loopback, as by default.
  LoadGenerator load(MakeChannel(absl::StrCat("127.0.0.1:", grpc_port), {}),
                     tokens, contracts, *std::move(contract_hex));
  const int tracker_pid = (*tracker)->pid();
  const int postmaster = info->first;
  double tracker_cpu0 = 0, self_cpu0 = 0;
  std::map<int, double> pg_cpu0;
  int64_t measure_start = 0;
  // The sync gRPC server starts a thread per call it cannot serve at once:
  // the tracker's thread count shows when it falls behind.
  std::atomic<bool> done{false};
  std::atomic<int64_t> peak_threads{0};
  std::thread sampler([&] {
    while (!done.load()) {
      peak_threads =
          std::max(peak_threads.load(), StatusField(tracker_pid, "Threads"));
      absl::SleepFor(absl::Milliseconds(100));
    }
  });
  const int64_t measured = static_cast<int64_t>(rate * seconds);
  Results r = load.Run(rate, static_cast<int64_t>(rate * warmup), measured,
                       absl::Milliseconds(deadline_ms), [&] {
                         tracker_cpu0 = CpuSeconds(tracker_pid);
                         pg_cpu0 = ClusterCpu(postmaster);
                         self_cpu0 = SelfCpuSeconds();
                         measure_start = Now();
                       });
  const double wall = (std::max(r.last_done_ns, Now()) - measure_start) / 1e9;
  const double tracker_cpu = CpuSeconds(tracker_pid) - tracker_cpu0;
  const double pg_cpu = ClusterCpuDelta(pg_cpu0, ClusterCpu(postmaster));
  const double self_cpu = SelfCpuSeconds() - self_cpu0;
  const int64_t rss_kb = StatusField(tracker_pid, "VmRSS");
  const int64_t hwm_kb = StatusField(tracker_pid, "VmHWM");
  done = true;
  sampler.join();
  double load_avg[3] = {0, 0, 0};
  getloadavg(load_avg, 3);

  absl::StatusOr<int> exit_code = (*tracker)->Terminate(absl::Seconds(15));

  std::sort(r.latency_ns.begin(), r.latency_ns.end());
  std::sort(r.lag_ns.begin(), r.lag_ns.end());
  int64_t errors = 0;
  for (const auto& [what, n] : r.errors) errors += n;
  std::printf("tokens %lld (contracts %lld), database %.0f MB, seed %s\n",
              static_cast<long long>(tokens), static_cast<long long>(contracts),
              info->second / 1e6,
              *seed == 0 ? "reused (--keep_db)"
                         : absl::StrFormat("%.1f s", *seed).c_str());
  std::printf(
      "target %.0f req/s for %.0f s (after %.0f s warm-up), tracker "
      "--db_pool_size=%d\n",
      rate, seconds, warmup, pool_size);
  std::printf(
      "achieved %.1f req/s, %zu calls, %lld errors, %lld wrong answers\n",
      r.latency_ns.size() / wall, r.latency_ns.size(),
      static_cast<long long>(errors), static_cast<long long>(r.wrong));
  std::printf(
      "latency ms (from due time): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  "
      "max %.3f\n",
      Percentile(r.latency_ns, 0.50), Percentile(r.latency_ns, 0.90),
      Percentile(r.latency_ns, 0.99), Percentile(r.latency_ns, 0.999),
      r.latency_ns.empty() ? 0.0 : r.latency_ns.back() / 1e6);
  std::printf("sender lag ms: p99 %.3f  max %.3f\n", Percentile(r.lag_ns, 0.99),
              r.lag_ns.empty() ? 0.0 : r.lag_ns.back() / 1e6);
  std::printf(
      "CPU (%% of one core): tracker %.1f  postgres %.1f  load generator "
      "%.1f;  tracker RSS %.1f MB (peak %.1f MB);  load average %.2f\n",
      100 * tracker_cpu / wall, 100 * pg_cpu / wall, 100 * self_cpu / wall,
      rss_kb / 1024.0, hwm_kb / 1024.0, load_avg[0]);
  std::printf("tracker threads: peak %lld\n",
              static_cast<long long>(peak_threads.load()));
  for (const auto& [what, n] : r.errors)
    std::printf("  error x%lld: %s\n", static_cast<long long>(n), what.c_str());
  if (r.wrong > 0)
    std::printf("  first wrong answer: %s\n", r.first_wrong.c_str());
  if (!exit_code.ok() || *exit_code != 0) {
    std::printf("tracker did not exit cleanly on SIGTERM; log: %s\n",
                (log_dir + "/tracker.log").c_str());
    return 1;
  }
  return errors == 0 && r.wrong == 0 && !r.latency_ns.empty() ? 0 : 1;
}

}  // namespace
}  // namespace niftysave::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "query_bench [--tokens=N] [--rate=R] [--seconds=S] [--keep_db=DIR]");
  absl::ParseCommandLine(argc, argv);
  return niftysave::bench::Main();
}
