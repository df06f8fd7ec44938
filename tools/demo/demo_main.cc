// niftysave-demo: the whole archive run on one machine, on real components.
// Brings up Postgres, anvil, a js-ipfs node and an HTTPS metadata server on
// loopback, migrates, starts the four services as processes, mints a demo
// ERC-721 collection covering each kind of token URI, shows progress, and
// ends with a summary and the way to query one token.
#include <csignal>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/runtime/flags.h"
#include "common/runtime/shutdown.h"
#include "tests/harness/subprocess.h"
#include "tests/integration/local_pipeline.h"

ABSL_FLAG(int, extra_tokens, 0,
          "mint this many more https:// tokens (0-10000)");
ABSL_FLAG(bool, keep_running, false,
          "leave everything running until Ctrl-C to query it");
ABSL_FLAG(std::string, log_dir, "",
          "where service logs go (default: a temp dir, printed)");
ABSL_FLAG(int, timeout_seconds, 300, "give up waiting after this long");

using namespace niftysave;

namespace {

absl::Time g_start;

void Say(const std::string& line) {
  std::printf("[%6.1fs] %s\n", absl::ToDoubleSeconds(absl::Now() - g_start),
              line.c_str());
  std::fflush(stdout);
}

[[noreturn]] void Die(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "niftysave-demo: %s: %s\n", what.c_str(),
               std::string(status.message()).c_str());
  std::exit(1);
}

std::string Lower(std::string s, const std::string& prefix) {
  if (s.rfind(prefix, 0) == 0) s = s.substr(prefix.size());
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Shorten(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

}  // namespace

int main(int argc, char** argv) {
  absl::Notification& interrupted = InstallShutdownHandler();
  ParseFlags(argc, argv, "niftysave-demo [--extra_tokens=N] [--keep_running]");
  const int extra = absl::GetFlag(FLAGS_extra_tokens);
  if (extra < 0 || extra > 10000)
    DieWithConfigError("extra_tokens", "must be 0-10000");
  g_start = absl::Now();

  Say("starting Postgres, anvil, the IPFS node and the HTTPS metadata server "
      "on 127.0.0.1");
  auto started = pipeline::LocalPipeline::Start(
      {.confirmations = 1, .log_dir = absl::GetFlag(FLAGS_log_dir)});
  if (!started.ok()) Die("cannot start the local components", started.status());
  pipeline::LocalPipeline& p = **started;
  Say("schema migrated; starting tracker, pinner, extractor and indexer");
  if (absl::Status s = p.StartAllServices(); !s.ok())
    Die("cannot start the services", s);
  for (const char* service : pipeline::LocalPipeline::kServices) {
    Say(absl::StrCat("  ", service, ": gRPC ", p.grpc_addr(service),
                     ", metrics http://127.0.0.1:", p.metrics_port(service),
                     "/metrics, log ", p.log_path(service)));
  }

  std::vector<pipeline::ExpectedToken> extra_tokens;
  if (extra > 0) {
    Say(absl::StrCat("preparing ", extra,
                     " more https:// tokens (files, reference CIDs)"));
  }
  for (int i = 0; i < extra; ++i) {
    auto t = p.PrepareHttpsToken(std::to_string(1000 + i));
    if (!t.ok()) Die("cannot prepare a token", t.status());
    extra_tokens.push_back(*t);
  }
  Say("deploying the demo ERC-721 and minting its tokens");
  const absl::Time mint_start = absl::Now();
  auto tokens = p.SeedDemoCollection();
  if (!tokens.ok()) Die("cannot mint the demo collection", tokens.status());
  if (absl::Status s = p.MintPrepared(extra_tokens); !s.ok())
    Die("cannot mint", s);
  tokens->insert(tokens->end(), extra_tokens.begin(), extra_tokens.end());
  Say(absl::StrCat("contract ", p.contract_hex(), " on chain ",
                   pipeline::LocalPipeline::kChainId, ", ", tokens->size(),
                   " tokens:"));
  for (const auto& t : *tokens) {
    if (std::stoi(t.token_id) >= 1000 && t.token_id != "1000") continue;
    std::printf("           #%-5s %-18s %s\n", t.token_id.c_str(),
                t.label.c_str(), Shorten(t.token_uri, 90).c_str());
  }

  const double mint_seconds = absl::ToDoubleSeconds(absl::Now() - mint_start);
  absl::Status settled = p.WaitUntilSettled(
      *tokens, absl::Seconds(absl::GetFlag(FLAGS_timeout_seconds)), [&] {
        auto counts = p.TokenCounts();
        if (!counts.ok()) return;
        std::vector<std::string> parts;
        for (const char* s :
             {"queued", "extracted", "archived", "partial", "failed"}) {
          parts.push_back(absl::StrCat(s, " ", (*counts)[s]));
        }
        Say("tokens: " + absl::StrJoin(parts, " | "));
      });
  if (!settled.ok()) Die("the pipeline did not finish", settled);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - mint_start);
  Say(absl::StrFormat(
      "all %d tokens settled %.1f s after the first mint (minting took %.1f "
      "s): %.1f tokens/s",
      tokens->size(), seconds, mint_seconds, tokens->size() / seconds));

  std::printf("\n%-6s %-18s %-9s %-14s %s\n", "TOKEN", "TOKEN URI", "STATUS",
              "REASON", "METADATA CID");
  int mismatches = 0;
  for (const auto& t : *tokens) {
    auto r = p.GetTokenStatus(t.token_id);
    if (!r.ok()) Die("cannot query token " + t.token_id, r.status());
    const std::string status =
        Lower(v1::TokenStatus_Name(r->status()), "TOKEN_STATUS_");
    if (status != t.status) ++mismatches;
    if (std::stoi(t.token_id) > 1000) continue;
    std::printf(
        "#%-5s %-18s %-9s %-14s %s\n", t.token_id.c_str(), t.label.c_str(),
        status.c_str(),
        r->failure().reason().empty() ? "-" : r->failure().reason().c_str(),
        r->metadata().cid().empty() ? "-" : r->metadata().cid().c_str());
  }
  std::printf("\n");
  auto summary = harness::RunCommand(
      {NIFTYSAVE_CLI_BIN, "summary", "--database_url=" + p.database_url()},
      absl::Seconds(30));
  std::printf("%s\n", summary.ok()
                          ? summary->c_str()
                          : std::string(summary.status().message()).c_str());

  const std::string query = absl::StrCat(
      NIFTYSAVE_CLI_BIN, " status --tracker_addr=", p.grpc_addr("tracker"),
      " 31337 ", p.contract_hex(), " 2");
  Say("one token, as the tracker answers it:  " + query);
  auto one = harness::RunCommand(
      {NIFTYSAVE_CLI_BIN, "status", "--tracker_addr=" + p.grpc_addr("tracker"),
       "31337", p.contract_hex(), "2"},
      absl::Seconds(30));
  std::printf("%s\n", one.ok() ? one->c_str()
                               : std::string(one.status().message()).c_str());

  if (absl::GetFlag(FLAGS_keep_running)) {
    Say("everything keeps running; query any token with the command above. "
        "Ctrl-C to stop.");
    interrupted.WaitForNotification();
  }
  Say("stopping the services (SIGTERM, drain)");
  if (absl::Status s = p.StopAllServices(); !s.ok())
    Die("a service did not stop cleanly", s);
  if (mismatches > 0) {
    std::fprintf(stderr, "niftysave-demo: %d tokens did not end as expected\n",
                 mismatches);
    return 1;
  }
  Say("done");
  return 0;
}
