#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc/grpc_security.h"
#include "common/http/http_client.h"
#include "niftysave/v1/tracker.grpc.pb.h"
#include "tests/harness/anvil_node.h"
#include "tests/harness/dev_chain.h"
#include "tests/harness/fixture_http_server.h"
#include "tests/harness/ipfs_node.h"
#include "tests/harness/postgres_server.h"
#include "tests/harness/rpc_proxy.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"
#include "tests/harness/test_pki.h"

namespace niftysave::pipeline {

// A token the demo collection mints, and what the pipeline should make of it.
struct ExpectedToken {
  std::string label;  // "ipfs://", "gateway URL", ...
  std::string token_id;
  std::string token_uri;
  std::string status;  // "archived" or "failed"
  std::string reason;  // for failed
  // JSON path ("" = the metadata itself) → the CID it must be pinned under,
  // computed independently by the IPFS node (add?only-hash=true).
  std::map<std::string, std::string> cids;
};

// The whole system on one machine: a real Postgres, anvil, js-ipfs node and
// loopback HTTP(S) metadata server, the schema migrated, and the four service
// binaries as separate processes wired to each other. Used by the end-to-end
// test and by the local demo (`scripts/demo`).
class LocalPipeline {
 public:
  static constexpr uint64_t kChainId = 31337;
  static constexpr const char* kServices[] = {"tracker", "pinner", "extractor",
                                              "indexer"};

  struct Options {
    uint64_t confirmations = 1;
    std::string log_dir;  // service logs; empty: inside the pipeline's temp dir
    // Every gRPC hop over mTLS with caller tokens: each service calls the
    // next with its own operate token; the pipeline's tracker stub (and
    // client_token_file("dashboard")) holds a read token.
    bool secure = false;
    // Flags appended to a service's command line (later flags win), e.g.
    // {"pinner", {"--pin_timeout_seconds=3"}}.
    std::map<std::string, std::vector<std::string>> extra_args;
    // The indexer reads the chain through an RpcProxy (rpc_proxy()), so a
    // test can make the RPC misbehave.
    bool rpc_proxy = false;
    // More Postgres server settings ("name=value"), e.g. for a profile.
    std::vector<std::string> postgres_settings;
    // More anvil flags (AnvilNode::Options::extra_args).
    std::vector<std::string> anvil_args;
    // Ports that end up inside content and token URIs (the fixture web
    // server's and the IPFS gateway's); 0: free ones. Two runs on the same
    // ports write the same bytes, so their CIDs and records compare equal.
    struct PublicPorts {
      int web_http = 0;
      int web_https = 0;
      int ipfs_gateway = 0;
    } ports;
  };
  static absl::StatusOr<std::unique_ptr<LocalPipeline>> Start(Options options);
  ~LocalPipeline();

  absl::Status StartService(const std::string& name);
  absl::Status StopService(const std::string& name);  // SIGTERM; must exit 0
  absl::Status StartAllServices();
  absl::Status StopAllServices();
  // kill -9 (a crash: no drain). Starting it again is StartService.
  absl::Status KillService(const std::string& name);
  bool ServiceRunning(const std::string& name);

  // Crashes of the shared components, each followed by a restart on the
  // same data: Postgres stopped immediately (no checkpoint) and started on
  // its data directory; the IPFS node killed with -9 and started on its
  // repo (past the stale repo.lock).
  absl::Status RestartPostgresImmediately();
  absl::Status RestartIpfsNode();

  // Deploys the demo ERC-721 (once).
  absl::Status DeployDemoContract();
  // Deploys the demo ERC-721 if needed, puts content on IPFS and the HTTPS
  // server, and mints one token per kind of token URI (ipfs://, gateway URL,
  // https://, data: base64, and two broken ones).
  absl::StatusOr<std::vector<ExpectedToken>> SeedDemoCollection();
  // Mints one more token with an https:// metadata document and one image.
  absl::StatusOr<ExpectedToken> MintHttpsToken(const std::string& token_id);
  // The same in two steps, so a benchmark can prepare many tokens (files on
  // the HTTPS server, reference CIDs) and then mint them in a few
  // transactions (mintBatch, 50 per transaction).
  absl::StatusOr<ExpectedToken> PrepareHttpsToken(const std::string& token_id);
  absl::Status MintPrepared(const std::vector<ExpectedToken>& tokens);
  // Mines `confirmations` empty blocks so the last mints are deep enough.
  absl::Status Confirm();

  // The tracker's report of a token of `contract` (40 hex digits; empty:
  // the pipeline's DemoNFT).
  absl::StatusOr<v1::TokenStatusReport> GetTokenStatus(
      const std::string& token_id, const std::string& contract = "");
  // Polls until every token reached its final status (archived or failed),
  // calling `on_tick` about once a second.
  absl::Status WaitUntilSettled(
      const std::vector<ExpectedToken>& tokens, absl::Duration timeout,
      const std::function<void()>& on_tick = [] {});
  // Tokens by status, from Postgres.
  absl::StatusOr<std::map<std::string, int64_t>> TokenCounts();
  // What the IPFS node computes for these bytes as one file (CIDv1, raw
  // leaves).
  absl::StatusOr<std::string> ReferenceCid(const std::string& bytes);
  // Adds the bytes to the IPFS node (CIDv1, unpinned) and returns the CID.
  absl::StatusOr<std::string> AddToIpfs(const std::string& bytes);

  const std::string& contract() const { return contract_; }
  std::string contract_hex() const { return "0x" + contract_; }
  std::string database_url() const { return postgres_->ConnectionString(); }
  std::string grpc_addr(const std::string& service) const;
  int metrics_port(const std::string& service) const;
  std::string log_path(const std::string& service) const;
  std::string ipfs_api_url() const { return ipfs_->api_url(); }
  // With Options::secure: the test PKI, and the file holding the token of
  // `caller` (a service name, "dashboard": read, or "operator": operate).
  const harness::TestPki& pki() const { return pki_; }
  std::string token_file(const std::string& caller) const;
  // What a client of the services presents as `caller` (plaintext when not
  // secure).
  GrpcClientSecurity client_security(const std::string& caller) const;
  std::string rpc_url() const { return anvil_->rpc_url(); }
  // The indexer's RPC endpoint: the proxy's with Options::rpc_proxy.
  std::string indexer_rpc_url() const;
  // Null without Options::rpc_proxy.
  harness::RpcProxy* rpc_proxy() { return rpc_proxy_.get(); }
  harness::DevChain& chain() { return *chain_; }
  harness::FixtureHttpServer& web() { return *web_; }
  std::string ipfs_gateway_url() const { return ipfs_->gateway_url(); }
  // The ports actually used (Options::ports with the free ones filled in).
  Options::PublicPorts public_ports() const;

 private:
  LocalPipeline() = default;
  std::vector<std::string> ServiceArgs(const std::string& name) const;
  std::vector<std::string> SecurityArgs(const std::string& name) const;
  absl::Status WriteTokens();

  Options options_;
  std::unique_ptr<harness::TempDir> dir_;
  harness::TestPki pki_;
  std::unique_ptr<harness::PostgresServer> postgres_;
  std::unique_ptr<harness::AnvilNode> anvil_;
  std::unique_ptr<harness::IpfsNode> ipfs_;
  std::unique_ptr<harness::FixtureHttpServer> web_;
  std::unique_ptr<harness::DevChain> chain_;
  std::unique_ptr<harness::RpcProxy> rpc_proxy_;
  std::unique_ptr<http::HttpClient> http_;
  std::map<std::string, int> grpc_ports_;
  std::map<std::string, int> metrics_ports_;
  std::map<std::string, std::unique_ptr<harness::Subprocess>> services_;
  std::string contract_;
  std::unique_ptr<v1::Tracker::Stub> tracker_;
};

}  // namespace niftysave::pipeline
