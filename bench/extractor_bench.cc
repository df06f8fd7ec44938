// Extractor throughput: N tokens whose metadata a loopback server answers
// after a fixed latency, seeded straight into a real Postgres with their
// 'extract' queue items, drained by the real niftysave-extractor binary (no
// pinner: --pinner_addr names a dead port; the 'pin' queue is durable).
// Reports tokens/s against the limit max_in_flight / latency, the
// extractor's peak RSS (VmHWM) and CPU time, and the metadata server's CPU
// (to show it was not the bottleneck). Run by bench/extractor_bench.sh.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/db/migrations.h"
#include "common/db/pool.h"
#include "tests/harness/hostile_http_server.h"
#include "tests/harness/net.h"
#include "tests/harness/postgres_server.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

ABSL_FLAG(int, tokens, 100000, "tokens to extract");
ABSL_FLAG(int, latency_ms, 200, "metadata server latency per request");
ABSL_FLAG(int, max_in_flight, 256, "the extractor's --max_in_flight");
ABSL_FLAG(int, batch_size, 64, "the extractor's --batch_size");
ABSL_FLAG(int, workers, 2, "the extractor's --workers (parse threads)");
ABSL_FLAG(std::string, scheme, "https",
          "https (HTTP/2 over TLS) or http (HTTP/1.1)");
ABSL_FLAG(double, timeout_seconds, 1800, "give up after this long");
ABSL_FLAG(std::string, extractor_bin, NIFTYSAVE_EXTRACTOR_BIN,
          "the niftysave-extractor binary to run (for A/B runs of a saved "
          "build)");
ABSL_FLAG(std::vector<std::string>, extractor_flags, {},
          "extra flags passed to the extractor, comma-separated");

namespace niftysave {
namespace {

constexpr char kContract[] = "00000000000000000000000000000000000000bb";

struct ProcStats {
  double cpu_seconds = 0;
  long hwm_kb = 0;
};

ProcStats ReadProc(int pid) {
  ProcStats out;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(stat, line);
  // Fields after the ")" that ends the command name: utime is the 14th
  // field overall, stime the 15th.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  std::vector<std::string> fields;
  while (rest >> field) fields.push_back(field);
  if (fields.size() > 13) {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    out.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
  }
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) out.hwm_kb = std::stol(line.substr(6));
  }
  return out;
}

// Busy and total jiffies of the whole machine (/proc/stat "cpu").
std::pair<double, double> MachineJiffies() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double user, nice, system, idle, iowait, irq, softirq, steal;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >>
      steal;
  const double busy = user + nice + system + irq + softirq + steal;
  return {busy, busy + idle + iowait};
}

absl::Status Seed(db::Pool& pool, int n, const std::string& base) {
  return pool.Run([&](pqxx::work& txn) {
    txn.exec(absl::StrCat(
        "INSERT INTO chains (chain_id, name, next_block) VALUES (1, 'bench', "
        "0); INSERT INTO contracts (chain_id, address, standard, first_block) "
        "VALUES (1, decode('",
        kContract, "', 'hex'), 'erc721', 0)"));
    txn.exec_params(
        "INSERT INTO tokens (chain_id, contract, token_id, token_uri) "
        "SELECT 1, decode($1, 'hex'), g, $2 || '/meta/' || g || '.json' "
        "FROM generate_series(1, $3) g",
        std::string(kContract), base, n);
    txn.exec(
        "INSERT INTO work_queue (queue, item_id) SELECT 'extract', id FROM "
        "tokens");
    return absl::OkStatus();
  });
}

int64_t Count(db::Pool& pool, const std::string& sql) {
  int64_t n = -1;
  absl::Status s = pool.Run([&](pqxx::work& txn) {
    n = txn.exec1(sql)[0].as<int64_t>();
    return absl::OkStatus();
  });
  return s.ok() ? n : -1;
}

int Run() {
  const int n = absl::GetFlag(FLAGS_tokens);
  const int latency = absl::GetFlag(FLAGS_latency_ms);
  const int in_flight = absl::GetFlag(FLAGS_max_in_flight);
  auto fail = [](const absl::Status& s) {
    std::cerr << "extractor_bench: " << s << "\n";
    return 1;
  };
  auto pg = harness::PostgresServer::Start();
  if (!pg.ok()) return fail(pg.status());
  if (auto s = (*pg)->CreateDatabase("bench"); !s.ok()) return fail(s);
  const std::string url = (*pg)->ConnectionString("bench");
  if (auto s = db::Migrate(url); !s.ok()) return fail(s.status());
  auto pool = db::Pool::Create(url, 2);
  if (!pool.ok()) return fail(pool.status());
  auto web = harness::HostileHttpServer::Start(latency);
  if (!web.ok()) return fail(web.status());
  const std::string base = absl::GetFlag(FLAGS_scheme) == "http"
                               ? (*web)->http_url()
                               : (*web)->https_url();
  const absl::Time seed_start = absl::Now();
  if (auto s = Seed(**pool, n, base); !s.ok()) return fail(s);
  std::cerr << "seeded " << n << " tokens in "
            << absl::FormatDuration(absl::Now() - seed_start) << "\n";

  auto logs = harness::TempDir::Create("extractor-bench");
  if (!logs.ok()) return fail(logs.status());
  const std::string dead = absl::StrCat("127.0.0.1:", harness::PickFreePort());
  std::vector<std::string> argv = {
      absl::GetFlag(FLAGS_extractor_bin),
      "--database_url=" + url,
      absl::StrCat("--grpc_listen=127.0.0.1:", harness::PickFreePort()),
      absl::StrCat("--metrics_listen=127.0.0.1:", harness::PickFreePort()),
      "--ipfs_gateways=http://" + dead,
      "--allow_addresses=127.0.0.1",
      "--ca_file=" + (*web)->ca_file(),
      "--pinner_addr=" + dead,
      absl::StrCat("--max_in_flight=", in_flight),
      // One host serves every token here: let it take every slot.
      absl::StrCat("--max_per_host=", in_flight),
      absl::StrCat("--batch_size=", absl::GetFlag(FLAGS_batch_size)),
      absl::StrCat("--workers=", absl::GetFlag(FLAGS_workers)),
      absl::StrCat("--db_pool_size=4"),
      "--poll_seconds=0.2",
      "--log_level=warn",
  };
  for (const std::string& flag : absl::GetFlag(FLAGS_extractor_flags)) {
    argv.push_back(flag);
  }
  const std::pair<double, double> machine0 = MachineJiffies();
  const ProcStats web0 = ReadProc((*web)->pid());
  const absl::Time start = absl::Now();
  auto extractor =
      harness::Subprocess::Start(argv, {}, logs->path() + "/extractor.log");
  if (!extractor.ok()) return fail(extractor.status());
  const int pid = (*extractor)->pid();
  ProcStats last;
  int64_t left = n;
  absl::Time done = absl::InfiniteFuture();
  const absl::Time give_up =
      start + absl::Seconds(absl::GetFlag(FLAGS_timeout_seconds));
  while (absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(250));
    if (!(*extractor)->Running()) {
      std::cerr << "extractor exited:\n"
                << harness::TailOfFile((*extractor)->log_path());
      return 1;
    }
    last = ReadProc(pid);
    left = Count(**pool,
                 "SELECT count(*) FROM work_queue WHERE queue = 'extract'");
    if (left == 0) {
      done = absl::Now();
      break;
    }
  }
  const std::pair<double, double> machine1 = MachineJiffies();
  const ProcStats web1 = ReadProc((*web)->pid());
  const int64_t extracted =
      Count(**pool, "SELECT count(*) FROM tokens WHERE status = 'extracted'");
  const int64_t queued_pins =
      Count(**pool, "SELECT count(*) FROM work_queue WHERE queue = 'pin'");
  (void)(*extractor)->Terminate();
  if (done == absl::InfiniteFuture()) {
    std::cerr << "timed out with " << left << " items left\n";
    return 1;
  }
  const double secs = absl::ToDoubleSeconds(done - start);
  const double rate = static_cast<double>(n) / secs;
  const double limit = in_flight / (latency / 1000.0);
  const double machine_busy =
      (machine1.first - machine0.first) / (machine1.second - machine0.second);
  absl::PrintF("| metric | value |\n|---|---|\n");
  absl::PrintF("| tokens | %d (%d extracted, %d pins queued) |\n", n, extracted,
               queued_pins);
  absl::PrintF("| server latency | %d ms, %s |\n", latency,
               absl::GetFlag(FLAGS_scheme));
  absl::PrintF("| max_in_flight | %d |\n", in_flight);
  absl::PrintF("| wall time to drain | %.1f s |\n", secs);
  absl::PrintF("| throughput | %.0f tokens/s |\n", rate);
  absl::PrintF("| limit (in flight / latency) | %.0f tokens/s |\n", limit);
  absl::PrintF("| of the limit | %.1f%% |\n", 100 * rate / limit);
  absl::PrintF("| extractor peak RSS (VmHWM) | %.1f MB |\n",
               last.hwm_kb / 1024.0);
  absl::PrintF("| extractor CPU (user+sys) | %.1f s (%.2f cores) |\n",
               last.cpu_seconds, last.cpu_seconds / secs);
  absl::PrintF("| metadata server CPU | %.1f s (%.2f cores) |\n",
               web1.cpu_seconds - web0.cpu_seconds,
               (web1.cpu_seconds - web0.cpu_seconds) / secs);
  absl::PrintF("| machine busy (all processes) | %.0f%% of %d cores |\n",
               100 * machine_busy,
               static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  return extracted == n ? 0 : 1;
}

}  // namespace
}  // namespace niftysave

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return niftysave::Run();
}
