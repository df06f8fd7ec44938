// niftysave: the operator's command-line tool.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "cli/commands.h"
#include "common/runtime/flags.h"

ABSL_FLAG(std::string, database_url, "",
          "Postgres connection URI (migrate, summary)");
ABSL_FLAG(std::string, tracker_addr, "127.0.0.1:50064",
          "tracker gRPC host:port (status, stats)");
ABSL_FLAG(bool, json, false, "print JSON instead of text");
ABSL_FLAG(uint64_t, chain_id, 0,
          "chain to count (stats); 0: every chain. Required with --contract");
ABSL_FLAG(std::string, contract, "",
          "0x address: one contract's progress instead of the funnel (stats)");
ABSL_FLAG(std::string, profile, "ipfs-car",
          "UnixFS import profile: kubo, kubo-v1 or ipfs-car (cid, car)");
ABSL_FLAG(bool, wrap, false,
          "wrap FILE in a directory under its base name, like ipfs add -w "
          "and ipfs-car pack (cid, car)");
ABSL_FLAG(std::string, queue, "",
          "work queue (extract, pin, track, read_uri:<chain>); empty: every "
          "queue (queue)");
ABSL_FLAG(int, limit, 100, "most items listed (queue dead)");
ABSL_FLAG(int64_t, max_size, 0,
          "split the CAR into files of at most this many bytes; 0: one file "
          "(car)");

namespace niftysave::cli {

std::string DatabaseUrl() {
  std::string url = absl::GetFlag(FLAGS_database_url);
  if (url.empty())
    DieWithConfigError("database_url", "required (or NIFTYSAVE_DATABASE_URL)");
  return url;
}
std::string TrackerAddr() { return absl::GetFlag(FLAGS_tracker_addr); }
bool JsonOutput() { return absl::GetFlag(FLAGS_json); }
std::string ImportProfileName() { return absl::GetFlag(FLAGS_profile); }
int64_t MaxCarBytes() { return absl::GetFlag(FLAGS_max_size); }
bool WrapInDirectory() { return absl::GetFlag(FLAGS_wrap); }
std::string QueueName() { return absl::GetFlag(FLAGS_queue); }
int ListLimit() { return GetFlagInRange(FLAGS_limit, 1, 100000); }

}  // namespace niftysave::cli

namespace {

constexpr char kUsage[] = R"(niftysave <command> [flags] [args]

commands:
  migrate                                  apply the schema migrations (idempotent)
  status <chain-id> <contract> <token-id>  one token: URI, metadata, assets, CIDs, pins
  summary                                  tokens, resources and pins by status
  stats                                    the funnel and failures by reason (from the tracker)
  stats --chain_id=N --contract=0x...      one contract: tokens by status, failures by reason
  inspect-uri <uri>                        how a token URI resolves, as JSON
  cid FILE                                 root CID of FILE as one UnixFS file (--wrap: in a directory)
  car FILE OUT.car                         FILE as a CAR (OUT.car.1, .2, ... when split)
  queue dead [--queue=Q]                   parked work items: leases kept failing, with the last error
  queue retry [--queue=Q] [ITEM_ID...]     put parked items back (all of Q, or the ids given)

flags (each also NIFTYSAVE_<NAME>): --database_url, --tracker_addr, --json,
  --grpc_tls_ca, --grpc_tls_client_cert, --grpc_tls_client_key,
  --grpc_client_token_file (status, stats: TLS and token to the tracker),
  --chain_id, --contract (stats), --queue, --limit (queue),
  --profile (cid, car: kubo, kubo-v1 or ipfs-car; default ipfs-car), --wrap (cid, car),
  --max_size (car))";

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> positional = niftysave::ParseFlags(argc, argv, kUsage);
  if (positional.size() < 2) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  const std::string command = positional[1];
  std::vector<std::string> args(positional.begin() + 2, positional.end());
  if (command == "migrate") return niftysave::cli::Migrate(args);
  if (command == "status") return niftysave::cli::Status(args);
  if (command == "summary") return niftysave::cli::Summary(args);
  if (command == "stats") return niftysave::cli::Stats(args);
  if (command == "inspect-uri") return niftysave::cli::InspectUri(args);
  if (command == "cid") return niftysave::cli::Cid(args);
  if (command == "car") return niftysave::cli::Car(args);
  if (command == "queue") return niftysave::cli::Queue(args);
  std::fprintf(stderr, "niftysave: unknown command '%s'\n\n%s\n",
               command.c_str(), kUsage);
  return 2;
}
