#include "tests/integration/local_pipeline.h"

#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/db/migrations.h"
#include "common/db/pool.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/status.h"
#include "nlohmann/json.hpp"
#include "tests/harness/net.h"

namespace niftysave::pipeline {
namespace {

using harness::WriteFile;

// anvil's first account: unlocked, funded, our minter and token owner.
constexpr char kOwner[] = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266";

std::string BinaryFor(const std::string& service) {
  if (service == "indexer") return NIFTYSAVE_INDEXER_BIN;
  if (service == "extractor") return NIFTYSAVE_EXTRACTOR_BIN;
  if (service == "pinner") return NIFTYSAVE_PINNER_BIN;
  return NIFTYSAVE_TRACKER_BIN;
}

// Small PNG-looking payloads that differ by `seed`: the bytes are what the
// CIDs are computed over.
std::string FakePng(int seed) {
  std::string bytes = "\x89PNG\r\n\x1a\n" + std::to_string(seed) + "\n";
  for (int i = 0; i < 2048; ++i) {
    bytes.push_back(static_cast<char>((i * 31 + seed * 7) & 0xff));
  }
  return bytes;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalPipeline>> LocalPipeline::Start(
    Options options) {
  std::unique_ptr<LocalPipeline> p(new LocalPipeline());
  p->options_ = std::move(options);
  auto dir = harness::TempDir::Create("niftysave-pipeline");
  if (!dir.ok()) return dir.status();
  p->dir_ = std::make_unique<harness::TempDir>(std::move(*dir));
  if (p->options_.log_dir.empty()) p->options_.log_dir = p->dir_->path();
  std::error_code ec;
  std::filesystem::create_directories(p->options_.log_dir, ec);
  if (ec)
    return absl::InvalidArgumentError("cannot create " + p->options_.log_dir +
                                      ": " + ec.message());

  auto postgres =
      harness::PostgresServer::Start("", p->options_.postgres_settings);
  if (!postgres.ok()) return postgres.status();
  p->postgres_ = std::move(*postgres);
  auto anvil = harness::AnvilNode::Start(
      {.chain_id = kChainId, .extra_args = p->options_.anvil_args});
  if (!anvil.ok()) return anvil.status();
  p->anvil_ = std::move(*anvil);
  auto ipfs = harness::IpfsNode::Start(
      {.gateway_port = p->options_.ports.ipfs_gateway});
  if (!ipfs.ok()) return ipfs.status();
  p->ipfs_ = std::move(*ipfs);
  const std::string web_root = p->dir_->path() + "/web";
  for (const char* sub : {"", "/meta", "/media"}) {
    std::filesystem::create_directories(web_root + sub);
  }
  auto web = harness::FixtureHttpServer::Start(
      web_root, p->options_.ports.web_http, p->options_.ports.web_https);
  if (!web.ok()) return web.status();
  p->web_ = std::move(*web);

  absl::StatusOr<int> version = db::Migrate(p->database_url());
  if (!version.ok()) return version.status();
  p->http_ = std::make_unique<http::HttpClient>(http::HttpClientOptions{});
  p->chain_ = std::make_unique<harness::DevChain>(p->anvil_->rpc_url());
  if (p->options_.rpc_proxy) {
    auto proxy = harness::RpcProxy::Start(p->anvil_->rpc_url());
    if (!proxy.ok()) return proxy.status();
    p->rpc_proxy_ = std::move(*proxy);
  }
  for (const char* name : kServices) {
    p->grpc_ports_[name] = harness::PickFreePort();
    p->metrics_ports_[name] = harness::PickFreePort();
  }
  if (p->options_.secure) {
    auto pki = harness::MakeTestPki(p->dir_->path());
    if (!pki.ok()) return pki.status();
    p->pki_ = *std::move(pki);
    if (absl::Status s = p->WriteTokens(); !s.ok()) return s;
  }
  p->tracker_ = v1::Tracker::NewStub(
      MakeChannel(p->grpc_addr("tracker"), p->client_security("dashboard")));
  return p;
}

LocalPipeline::~LocalPipeline() { (void)StopAllServices(); }

std::string LocalPipeline::grpc_addr(const std::string& service) const {
  return absl::StrCat("127.0.0.1:", grpc_ports_.at(service));
}
int LocalPipeline::metrics_port(const std::string& service) const {
  return metrics_ports_.at(service);
}
std::string LocalPipeline::log_path(const std::string& service) const {
  return absl::StrCat(options_.log_dir, "/", service, ".log");
}

absl::Status LocalPipeline::WriteTokens() {
  std::random_device random;
  std::string tokens = "# scope caller token\n";
  for (const char* caller :
       {"indexer", "extractor", "pinner", "tracker", "operator", "dashboard"}) {
    const std::string token =
        absl::StrCat(caller, "-", random(), random(), random(), random());
    const char* scope = std::string(caller) == "dashboard" ? "read" : "operate";
    absl::StrAppend(&tokens, scope, " ", caller, " ", token, "\n");
    if (absl::Status s = WriteFile(token_file(caller), token + "\n"); !s.ok())
      return s;
  }
  return WriteFile(dir_->path() + "/tokens", tokens);
}

std::string LocalPipeline::token_file(const std::string& caller) const {
  return absl::StrCat(dir_->path(), "/token-", caller);
}

GrpcClientSecurity LocalPipeline::client_security(
    const std::string& caller) const {
  if (!options_.secure) return {};
  auto security = LoadClientSecurity(
      {"grpc_tls_ca", pki_.ca_cert}, {"grpc_tls_client_cert", pki_.client_cert},
      {"grpc_tls_client_key", pki_.client_key},
      {"grpc_client_token_file", token_file(caller)});
  return security.ok() ? *security : GrpcClientSecurity{};
}

// The server and client flags of every service when secure: mTLS with the
// test CA, the shared tokens file, and the service's own operate token.
std::vector<std::string> LocalPipeline::SecurityArgs(
    const std::string& name) const {
  if (!options_.secure) return {};
  return {"--grpc_tls_cert=" + pki_.server_cert,
          "--grpc_tls_key=" + pki_.server_key,
          "--grpc_tls_client_ca=" + pki_.ca_cert,
          "--grpc_tokens_file=" + dir_->path() + "/tokens",
          "--grpc_tls_ca=" + pki_.ca_cert,
          "--grpc_tls_client_cert=" + pki_.client_cert,
          "--grpc_tls_client_key=" + pki_.client_key,
          "--grpc_client_token_file=" + token_file(name)};
}

std::vector<std::string> LocalPipeline::ServiceArgs(
    const std::string& name) const {
  std::vector<std::string> args = {
      BinaryFor(name),
      "--database_url=" + database_url(),
      "--grpc_listen=" + grpc_addr(name),
      absl::StrCat("--metrics_listen=127.0.0.1:", metrics_ports_.at(name)),
      "--drain_seconds=5",
  };
  const std::vector<std::string> security = SecurityArgs(name);
  args.insert(args.end(), security.begin(), security.end());
  // Loopback stands in for the internet here, so the SSRF guard is told to
  // let 127.0.0.1 through; everything else internal stays refused.
  const std::vector<std::string> fetch = {
      "--allow_addresses=127.0.0.1", "--ca_file=" + web_->ca_file(),
      "--ipfs_gateways=" + ipfs_->gateway_url()};
  if (name == "indexer") {
    args.insert(
        args.end(),
        {absl::StrCat("--chain_id=", kChainId), "--chain_name=anvil",
         "--rpc_url=" + indexer_rpc_url(), "--start_block=0",
         absl::StrCat("--confirmations=", options_.confirmations),
         "--poll_seconds=0.2", "--extractor_addr=" + grpc_addr("extractor")});
  } else if (name == "extractor") {
    args.insert(args.end(), fetch.begin(), fetch.end());
    args.insert(args.end(),
                {"--pinner_addr=" + grpc_addr("pinner"), "--poll_seconds=0.5",
                 "--fetch_timeout_seconds=10", "--max_attempts=3"});
  } else if (name == "pinner") {
    args.insert(args.end(), fetch.begin(), fetch.end());
    args.insert(args.end(),
                {"--kubo_api_url=" + ipfs_->api_url(),
                 // js-ipfs's gateway serves no raw blocks: pins by CID are
                 // checked through the node's block/get.
                 "--ipfs_api_url=" + ipfs_->api_url(),
                 "--tracker_addr=" + grpc_addr("tracker"), "--poll_seconds=0.5",
                 "--pin_timeout_seconds=10", "--fetch_timeout_seconds=10"});
  } else {
    args.insert(args.end(),
                {"--kubo_api_url=" + ipfs_->api_url(), "--poll_seconds=0.5",
                 "--recheck_initial_seconds=0.2", "--recheck_max_seconds=2",
                 // One local node: kubo checks one CID a request.
                 "--status_requests_per_second=500", "--stats_seconds=1"});
  }
  if (auto extra = options_.extra_args.find(name);
      extra != options_.extra_args.end()) {
    args.insert(args.end(), extra->second.begin(), extra->second.end());
  }
  return args;
}

absl::Status LocalPipeline::StartService(const std::string& name) {
  if (services_.count(name) && services_[name]->Running())
    return absl::OkStatus();
  auto process =
      harness::Subprocess::Start(ServiceArgs(name), {}, log_path(name));
  if (!process.ok()) return process.status();
  const int port = grpc_ports_.at(name);
  absl::Status ready =
      harness::WaitUntilReady(**process, name, absl::Seconds(20),
                              [&] { return harness::CheckTcp(port); });
  if (!ready.ok()) return ready;
  services_[name] = std::move(*process);
  return absl::OkStatus();
}

absl::Status LocalPipeline::StopService(const std::string& name) {
  auto it = services_.find(name);
  if (it == services_.end()) return absl::OkStatus();
  absl::StatusOr<int> code = it->second->Terminate(absl::Seconds(15));
  services_.erase(it);
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(absl::StrCat(
        name, " exited with ", *code,
        " on SIGTERM; log: ", harness::TailOfFile(log_path(name))));
  }
  return absl::OkStatus();
}

absl::Status LocalPipeline::KillService(const std::string& name) {
  auto it = services_.find(name);
  if (it == services_.end()) return absl::OkStatus();
  absl::StatusOr<int> code = it->second->Terminate(absl::Seconds(5), SIGKILL);
  services_.erase(it);
  return code.status();
}

bool LocalPipeline::ServiceRunning(const std::string& name) {
  auto it = services_.find(name);
  return it != services_.end() && it->second->Running();
}

absl::Status LocalPipeline::RestartPostgresImmediately() {
  return postgres_->RestartImmediately();
}

absl::Status LocalPipeline::RestartIpfsNode() { return ipfs_->Restart(); }

std::string LocalPipeline::indexer_rpc_url() const {
  return rpc_proxy_ ? rpc_proxy_->url() : anvil_->rpc_url();
}

LocalPipeline::Options::PublicPorts LocalPipeline::public_ports() const {
  auto port_of = [](const std::string& url) {
    return std::stoi(url.substr(url.rfind(':') + 1));
  };
  return {.web_http = port_of(web_->http_url()),
          .web_https = port_of(web_->https_url()),
          .ipfs_gateway = ipfs_->gateway_port()};
}

absl::Status LocalPipeline::StartAllServices() {
  for (const char* name : kServices) {
    if (absl::Status s = StartService(name); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LocalPipeline::StopAllServices() {
  absl::Status first;
  for (auto it = std::rbegin(kServices); it != std::rend(kServices); ++it) {
    absl::Status s = StopService(*it);
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

absl::StatusOr<std::string> LocalPipeline::AddToIpfs(const std::string& bytes) {
  auto response = http_->Do(
      {.method = "POST",
       .url = ipfs_->api_url() +
              "/api/v0/add?cid-version=1&cid-base=base32&pin=false",
       .file = http::MultipartFile{.filename = "f", .content = bytes}});
  if (!response.ok()) return response.status();
  auto reply = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200 || !reply.is_object() ||
      !reply["Hash"].is_string()) {
    return absl::InternalError("ipfs add failed: " + response->body);
  }
  return reply["Hash"].get<std::string>();
}

absl::StatusOr<std::string> LocalPipeline::ReferenceCid(
    const std::string& bytes) {
  auto response = http_->Do(
      {.method = "POST",
       .url = ipfs_->api_url() +
              "/api/v0/add?only-hash=true&cid-version=1&cid-base=base32",
       .file = http::MultipartFile{.filename = "f", .content = bytes}});
  if (!response.ok()) return response.status();
  auto reply = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200 || !reply.is_object() ||
      !reply["Hash"].is_string()) {
    return absl::InternalError("ipfs add only-hash failed: " + response->body);
  }
  return reply["Hash"].get<std::string>();
}

absl::Status LocalPipeline::DeployDemoContract() {
  if (!contract_.empty()) return absl::OkStatus();
  auto address = chain_->Deploy("DemoNFT");
  if (!address.ok()) return address.status();
  contract_ = *address;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ExpectedToken>> LocalPipeline::SeedDemoCollection() {
  if (absl::Status s = DeployDemoContract(); !s.ok()) return s;
  std::vector<ExpectedToken> tokens;
  auto mint = [&](ExpectedToken t) -> absl::Status {
    auto tx = chain_->Mint(contract_, kOwner, t.token_id, t.token_uri);
    if (!tx.ok()) return tx.status();
    tokens.push_back(std::move(t));
    return absl::OkStatus();
  };
#define NS_TRY(expr) \
  if (absl::Status s_ = (expr); !s_.ok()) return s_;
#define NS_ASSIGN(var, expr)                    \
  auto var##_or = (expr);                       \
  if (!var##_or.ok()) return var##_or.status(); \
  std::string var = *var##_or;

  // 1. ipfs:// metadata whose image is on IPFS too.
  NS_ASSIGN(img1, AddToIpfs(FakePng(1)));
  nlohmann::ordered_json meta1 = {
      {"name", "Demo #1"},
      {"description", "metadata on IPFS"},
      {"image", "ipfs://" + img1},
      {"attributes", {{{"trait_type", "kind"}, {"value", "ipfs"}}}}};
  NS_ASSIGN(meta1_cid, AddToIpfs(meta1.dump()));
  NS_TRY(mint({"ipfs://",
               "1",
               "ipfs://" + meta1_cid,
               "archived",
               "",
               {{"", meta1_cid}, {"$.image", img1}}}));

  // 2. A gateway URL; its image by gateway URL, its animation shared with #1.
  NS_ASSIGN(img2, AddToIpfs(FakePng(2)));
  nlohmann::ordered_json meta2 = {
      {"name", "Demo #2"},
      {"image", ipfs_->gateway_url() + "/ipfs/" + img2},
      {"animation_url", "ipfs://" + img1}};
  NS_ASSIGN(meta2_cid, AddToIpfs(meta2.dump()));
  NS_TRY(
      mint({"gateway URL",
            "2",
            ipfs_->gateway_url() + "/ipfs/" + meta2_cid,
            "archived",
            "",
            {{"", meta2_cid}, {"$.image", img2}, {"$.animation_url", img1}}}));

  // 3. https:// on someone's web server: both documents get uploaded. The
  // image is byte-for-byte token 1's, so it lands on the same CID and pin.
  NS_TRY(WriteFile(web_->root_dir() + "/media/3.png", FakePng(1)));
  nlohmann::ordered_json meta3 = {{"name", "Demo #3"},
                                  {"image", web_->https_url() + "/media/3.png"},
                                  {"external_url", "https://example.com/3"}};
  NS_TRY(WriteFile(web_->root_dir() + "/meta/3.json", meta3.dump()));
  NS_ASSIGN(meta3_cid, ReferenceCid(meta3.dump()));
  NS_ASSIGN(img3_cid, ReferenceCid(FakePng(1)));
  NS_TRY(mint({"https://",
               "3",
               web_->https_url() + "/meta/3.json",
               "archived",
               "",
               {{"", meta3_cid}, {"$.image", img3_cid}}}));

  // 4. On-chain data: JSON with an inline base64 SVG image.
  const std::string svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\"><circle r=\"4\"/></svg>";
  nlohmann::ordered_json meta4 = {
      {"name", "Demo #4"},
      {"image", "data:image/svg+xml;base64," + absl::Base64Escape(svg)}};
  NS_ASSIGN(meta4_cid, ReferenceCid(meta4.dump()));
  NS_ASSIGN(svg_cid, ReferenceCid(svg));
  NS_TRY(
      mint({"data: base64",
            "4",
            "data:application/json;base64," + absl::Base64Escape(meta4.dump()),
            "archived",
            "",
            {{"", meta4_cid}, {"$.image", svg_cid}}}));

  // 5 and 6. Broken: a document that is not there, a URI that is not one.
  NS_TRY(mint({"broken: 404",
               "5",
               web_->https_url() + "/meta/missing.json",
               "failed",
               "http_4xx",
               {}}));
  NS_TRY(mint({"broken: not a URI",
               "6",
               "javascript:alert(1)",
               "failed",
               "uri_invalid",
               {}}));
#undef NS_TRY
#undef NS_ASSIGN
  if (absl::Status s = Confirm(); !s.ok()) return s;
  return tokens;
}

absl::StatusOr<ExpectedToken> LocalPipeline::PrepareHttpsToken(
    const std::string& token_id) {
  // Distinct bytes per token id, so each image is its own upload and pin.
  const std::string png =
      FakePng(static_cast<int>(std::hash<std::string>{}(token_id) % 100000));
  const std::string image = "/media/" + token_id + ".png";
  if (absl::Status s = WriteFile(web_->root_dir() + image, png); !s.ok())
    return s;
  nlohmann::ordered_json meta = {{"name", "Demo #" + token_id},
                                 {"image", web_->https_url() + image}};
  const std::string doc = "/meta/" + token_id + ".json";
  if (absl::Status s = WriteFile(web_->root_dir() + doc, meta.dump()); !s.ok())
    return s;
  auto meta_cid = ReferenceCid(meta.dump());
  if (!meta_cid.ok()) return meta_cid.status();
  auto img_cid = ReferenceCid(png);
  if (!img_cid.ok()) return img_cid.status();
  return ExpectedToken{
      "https://", token_id, web_->https_url() + doc,
      "archived", "",       {{"", *meta_cid}, {"$.image", *img_cid}}};
}

absl::Status LocalPipeline::MintPrepared(
    const std::vector<ExpectedToken>& tokens) {
  if (absl::Status s = DeployDemoContract(); !s.ok()) return s;
  constexpr size_t kPerTx = 50;
  for (size_t start = 0; start < tokens.size(); start += kPerTx) {
    std::vector<std::string> ids, uris;
    for (size_t i = start; i < std::min(tokens.size(), start + kPerTx); ++i) {
      ids.push_back(tokens[i].token_id);
      uris.push_back(tokens[i].token_uri);
    }
    auto tx = chain_->MintBatch(contract_, kOwner, ids, uris);
    if (!tx.ok()) return tx.status();
  }
  return Confirm();
}

absl::StatusOr<ExpectedToken> LocalPipeline::MintHttpsToken(
    const std::string& token_id) {
  absl::StatusOr<ExpectedToken> t = PrepareHttpsToken(token_id);
  if (!t.ok()) return t.status();
  if (absl::Status s = MintPrepared({*t}); !s.ok()) return s;
  return t;
}

absl::Status LocalPipeline::Confirm() {
  return chain_->Mine(options_.confirmations);
}

absl::StatusOr<v1::TokenStatusReport> LocalPipeline::GetTokenStatus(
    const std::string& token_id, const std::string& contract) {
  v1::GetTokenStatusRequest request;
  request.mutable_token()->set_chain_id(kChainId);
  request.mutable_token()->set_contract(contract.empty() ? contract_hex()
                                                         : "0x" + contract);
  request.mutable_token()->set_token_id(token_id);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  v1::TokenStatusReport report;
  grpc::Status status = tracker_->GetTokenStatus(&context, request, &report);
  if (!status.ok()) return FromGrpcStatus(status);
  return report;
}

absl::Status LocalPipeline::WaitUntilSettled(
    const std::vector<ExpectedToken>& tokens, absl::Duration timeout,
    const std::function<void()>& on_tick) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Time next_tick = absl::Now();
  std::string pending;
  while (absl::Now() < deadline) {
    if (absl::Now() >= next_tick) {
      on_tick();
      next_tick = absl::Now() + absl::Seconds(1);
    }
    pending.clear();
    for (const ExpectedToken& t : tokens) {
      auto report = GetTokenStatus(t.token_id);
      const bool settled =
          report.ok() && (report->status() == v1::TOKEN_STATUS_ARCHIVED ||
                          report->status() == v1::TOKEN_STATUS_PARTIAL ||
                          report->status() == v1::TOKEN_STATUS_FAILED);
      if (!settled) absl::StrAppend(&pending, " #", t.token_id);
    }
    if (pending.empty()) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError("tokens not settled in time:" + pending);
}

absl::StatusOr<std::map<std::string, int64_t>> LocalPipeline::TokenCounts() {
  auto pool = db::Pool::Create(database_url(), 1);
  if (!pool.ok()) return pool.status();
  std::map<std::string, int64_t> counts;
  absl::Status s = (*pool)->Run([&](pqxx::work& txn) {
    for (const auto& row :
         txn.exec("SELECT status, count(*) FROM tokens GROUP BY 1")) {
      counts[row[0].as<std::string>()] = row[1].as<int64_t>();
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return counts;
}

}  // namespace niftysave::pipeline
