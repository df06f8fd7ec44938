#pragma once

// The fault-injection run (issue 13): one seeded workload of every kind of
// token URI over ERC-721 and ERC-1155, run once without faults and once with
// crashes at seeded moments, and the records of the two compared.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/chaos/records.h"
#include "tests/integration/local_pipeline.h"

namespace niftysave::chaos {

struct Profile {
  uint64_t seed = 1;
  int tokens = 30;  // ERC-721 and ERC-1155 together
  // Each service here is killed with -9 this many times, at seeded moments
  // (a queue worker preferably while it holds a lease), and started again.
  std::vector<std::string> kill_services = {"indexer", "extractor", "pinner",
                                            "tracker"};
  int kills_per_service = 3;
  int postgres_restarts = 1;    // immediate stop, start on the same data
  int ipfs_restarts = 1;        // kill -9, restart past the stale repo.lock
  bool reorg = true;            // depth 1-10 (evm_snapshot / evm_revert)
  double rpc_error_rate = 0.2;  // of the indexer's RPC requests, in the window
  // Faults fall in this window; the tokens are minted in `mint_waves`
  // waves over its first 60%, so the faults meet work in flight.
  absl::Duration fault_window = absl::Seconds(60);
  int mint_waves = 4;
  // How long a run may take to settle (reference) or converge (faults).
  absl::Duration settle_timeout = absl::Minutes(10);
  std::string log_dir;  // service logs of both runs; empty: temp dirs
  // Flags appended per service in both runs (after LocalPipeline's). By
  // default the extractor gets its own default retry budget back:
  // LocalPipeline shortens it to 3 attempts for the end-to-end tests, and
  // with 3 a few seconds without the IPFS node fail gateway tokens for good.
  std::map<std::string, std::vector<std::string>> extra_args = {
      {"extractor", {"--max_attempts=6"}}};
};

// The fault-free run: its records, and the ports the faulty run must reuse
// so that its content (and so its CIDs) is byte-for-byte the same.
struct Reference {
  Records records;
  Invariants invariants;
  pipeline::LocalPipeline::Options::PublicPorts ports;
  absl::Duration settled_in;
  std::string summary;  // the workload, by kind
  // Records per table and tokens by status, for the report.
  std::string Counts() const;
};
absl::StatusOr<Reference> RunReference(const Profile& profile);

struct ChaosResult {
  std::vector<std::string> faults;  // "12.3s kill -9 pinner (5 leased)", ...
  int self_exits = 0;               // services that exited without being killed
  bool converged = false;
  // From the end of the last fault (the last restart done) until the
  // records equal the reference's and nothing is left in flight.
  absl::Duration converged_after_last_fault;
  Diff diff;              // at the end (empty when converged)
  Invariants invariants;  // at the end, with every pin checked on the node
  std::string ToString() const;
};
absl::StatusOr<ChaosResult> RunWithFaults(const Profile& profile,
                                          const Reference& reference);

}  // namespace niftysave::chaos
