#include "tests/harness/anvil_node.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/harness/net.h"

namespace niftysave::harness {
namespace {

constexpr char kAnvilBinary[] = NIFTYSAVE_NODE_TOOLS
    "/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";

absl::Status CheckChainId(const std::string& url, uint64_t chain_id) {
  absl::StatusOr<HttpResponse> response = Fetch(
      {.method = "POST",
       .url = url,
       .body = R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]})",
       .headers = {"Content-Type: application/json"},
       .timeout = absl::Seconds(1)});
  if (!response.ok()) return response.status();
  std::string expected = absl::StrCat("\"0x", absl::Hex(chain_id), "\"");
  if (response->status != 200 || !absl::StrContains(response->body, expected)) {
    return absl::UnavailableError(absl::StrCat(
        "eth_chainId: HTTP ", response->status, " ", response->body));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<AnvilNode>> AnvilNode::Start(Options options) {
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-anvil");
  if (!dir.ok()) return dir.status();
  const int port = PickFreePort();
  std::unique_ptr<AnvilNode> node(new AnvilNode(*std::move(dir), port));

  std::vector<std::string> argv = {kAnvilBinary,
                                   "--host",
                                   "127.0.0.1",
                                   "--port",
                                   absl::StrCat(port),
                                   "--chain-id",
                                   absl::StrCat(options.chain_id),
                                   "--quiet"};
  if (options.block_time_seconds > 0) {
    argv.push_back("--block-time");
    argv.push_back(absl::StrCat(options.block_time_seconds));
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  absl::StatusOr<std::unique_ptr<Subprocess>> anvil =
      Subprocess::Start(std::move(argv), {{"HOME", node->dir_.path()}},
                        node->dir_.path() + "/anvil.log");
  if (!anvil.ok()) {
    return absl::Status(anvil.status().code(),
                        absl::StrCat("AnvilNode: ", anvil.status().message()));
  }
  node->anvil_ = *std::move(anvil);

  const std::string url = node->rpc_url();
  absl::Status ready =
      WaitUntilReady(*node->anvil_, "AnvilNode", absl::Seconds(30),
                     [&] { return CheckChainId(url, options.chain_id); });
  if (!ready.ok()) return ready;
  return node;
}

AnvilNode::~AnvilNode() { Stop().IgnoreError(); }

std::string AnvilNode::rpc_url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

absl::Status AnvilNode::Stop() {
  if (anvil_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = anvil_->Terminate();
  anvil_.reset();
  return code.status();
}

}  // namespace niftysave::harness
