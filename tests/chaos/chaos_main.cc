// The fault-injection test, long profile (scripts/chaos.sh): for each seed,
// a fault-free run and a run with faults of the same workload, and the
// figures the README reports: lost, duplicated and differing records, the
// invariants, and the time to converge after the last fault.
#include <iostream>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/runtime/flags.h"
#include "tests/chaos/chaos_run.h"

ABSL_FLAG(std::vector<std::string>, seeds, {"1"}, "seeds, one run pair each");
ABSL_FLAG(int, tokens, 300, "tokens per run (6-5000)");
ABSL_FLAG(int, kills, 3, "kill -9 of each service per run (0-20)");
ABSL_FLAG(std::vector<std::string>, kill_services,
          std::vector<std::string>({"indexer", "extractor", "pinner",
                                    "tracker"}),
          "the services to kill");
ABSL_FLAG(int, postgres_restarts, 1, "immediate Postgres restarts (0-5)");
ABSL_FLAG(int, ipfs_restarts, 1, "IPFS node kill -9 and restart (0-5)");
ABSL_FLAG(double, rpc_error_rate, 0.2, "share of failed RPC requests (0-0.9)");
ABSL_FLAG(double, window_seconds, 60, "faults fall in this window (5-3600)");
ABSL_FLAG(double, timeout_seconds, 600,
          "how long a run may take to settle or converge (10-7200)");
ABSL_FLAG(std::string, log_dir, "", "keep the service logs here");
ABSL_FLAG(std::vector<std::string>, service_flags, {},
          "extra service flags, SERVICE=--flag=value, comma-separated; they "
          "replace the default (extractor=--max_attempts=6)");

namespace niftysave::chaos {
namespace {

Profile ProfileFromFlags() {
  Profile p;
  p.tokens = GetFlagInRange(FLAGS_tokens, 6, 5000);
  p.kills_per_service = GetFlagInRange(FLAGS_kills, 0, 20);
  p.kill_services = absl::GetFlag(FLAGS_kill_services);
  p.postgres_restarts = GetFlagInRange(FLAGS_postgres_restarts, 0, 5);
  p.ipfs_restarts = GetFlagInRange(FLAGS_ipfs_restarts, 0, 5);
  p.rpc_error_rate = GetFlagInRange(FLAGS_rpc_error_rate, 0.0, 0.9);
  p.fault_window =
      absl::Seconds(GetFlagInRange(FLAGS_window_seconds, 5.0, 3600.0));
  p.settle_timeout =
      absl::Seconds(GetFlagInRange(FLAGS_timeout_seconds, 10.0, 7200.0));
  p.log_dir = absl::GetFlag(FLAGS_log_dir);
  const std::vector<std::string> extra = absl::GetFlag(FLAGS_service_flags);
  if (!extra.empty()) p.extra_args.clear();
  for (const std::string& item : extra) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      DieWithConfigError("service_flags",
                         "want SERVICE=--flag=value, got " + item);
    }
    p.extra_args[item.substr(0, eq)].push_back(item.substr(eq + 1));
  }
  return p;
}

int Main() {
  std::vector<std::string> rows;
  bool all_good = true;
  for (const std::string& seed_text : absl::GetFlag(FLAGS_seeds)) {
    Profile profile = ProfileFromFlags();
    if (!absl::SimpleAtoi(seed_text, &profile.seed)) {
      std::cerr << "--seeds: not a number: " << seed_text << "\n";
      return 2;
    }
    std::cout << "== seed " << profile.seed << ": fault-free run" << std::endl;
    absl::StatusOr<Reference> reference = RunReference(profile);
    if (!reference.ok()) {
      std::cerr << "reference run failed: " << reference.status() << "\n";
      return 1;
    }
    std::cout << "settled in "
              << absl::StrFormat("%.1fs",
                                 absl::ToDoubleSeconds(reference->settled_in))
              << "; workload: " << reference->summary
              << "\nrecords: " << reference->Counts()
              << "\ninvariants: " << reference->invariants.ToString() << "\n"
              << "== seed " << profile.seed << ": run with faults" << std::endl;
    absl::StatusOr<ChaosResult> result = RunWithFaults(profile, *reference);
    if (!result.ok()) {
      std::cerr << "run with faults failed: " << result.status() << "\n";
      return 1;
    }
    std::cout << result->ToString() << std::endl;
    const bool good = result->converged && result->invariants.ok();
    all_good = all_good && good;
    rows.push_back(absl::StrFormat(
        "%6d %6d %5d %5d %5d %5d %5d %5d %9s %6d", profile.seed, profile.tokens,
        result->diff.lost(), result->diff.duplicated(),
        result->diff.differing(), result->invariants.queue_items_left,
        result->invariants.archived_with_unpinned,
        result->invariants.pinned_not_on_node,
        result->converged
            ? absl::StrFormat("%.1fs", absl::ToDoubleSeconds(
                                           result->converged_after_last_fault))
            : "never",
        result->self_exits));
  }
  std::cout << "\n  seed tokens  lost   dup  diff queue unpin nopin converged"
               " selfex\n";
  for (const std::string& row : rows) std::cout << row << "\n";
  return all_good ? 0 : 1;
}

}  // namespace
}  // namespace niftysave::chaos

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return niftysave::chaos::Main();
}
