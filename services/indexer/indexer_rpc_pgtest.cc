// The indexer against RPC realities: ChainIndexer + RpcChainSource +
// JsonRpcClient + PgIndexerRepository on a real Postgres, reading a real
// anvil through a hostile JSON-RPC proxy (tests/harness/rpc_proxy.js) that
// truncates, garbles, reorders and drops replies, rate-limits, times out and
// refuses "too many results". Each test checks the indexer ends with exactly
// the tokens anvil holds, that the failure was counted, and what the client
// sent (the proxy's request log).

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/db/pool.h"
#include "common/eth/json_rpc_client.h"
#include "common/http/http_client.h"
#include "common/runtime/reason.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/indexer/chain_indexer.h"
#include "services/indexer/chain_source.h"
#include "services/indexer/indexer_test_fixture.h"
#include "services/indexer/pg_indexer_repository.h"
#include "services/indexer/uri_reader.h"
#include "tests/harness/dev_chain.h"
#include "tests/harness/rpc_proxy.h"

namespace niftysave::indexer {
namespace {

using Fault = harness::RpcProxy::Fault;

constexpr uint64_t kChainId = 31337;

class IndexerRpcPgTest : public pgtest::ChainPgTestFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SetUpRepository("indexer_rpc_test_", 2));
    ASSERT_NO_FATAL_FAILURE(StartAnvil());
    ASSERT_OK_AND_ASSIGN(proxy_, harness::RpcProxy::Start(anvil_->rpc_url()));
    ASSERT_NO_FATAL_FAILURE(DeployNft());
  }

  // The client under test, over `urls` (default: the proxy), with quick
  // back-off so retries do not slow the suite; outcomes are counted.
  void UseRpc(std::vector<std::string> urls = {},
              absl::Duration timeout = absl::Seconds(10),
              absl::Duration max_retry_after = absl::Seconds(30)) {
    if (urls.empty()) urls = {proxy_->url()};
    http_ = std::make_unique<http::HttpClient>(http::HttpClientOptions{
        .limits = {.max_body_bytes = 64 << 20, .total_timeout = timeout}});
    rpc_ = std::make_unique<eth::JsonRpcClient>(
        *http_,
        eth::JsonRpcOptions{
            .urls = std::move(urls),
            .max_attempts = 4,
            .backoff = {absl::Milliseconds(5), absl::Milliseconds(50)},
            .max_retry_after = max_retry_after,
            .observe = [this](const std::string&, const std::string& outcome,
                              absl::Duration) {
              absl::MutexLock lock(&mu_);
              ++outcomes_[outcome];
            }});
    source_ =
        std::make_unique<RpcChainSource>(*rpc_, RpcChainSource::Options{});
  }

  std::unique_ptr<ChainIndexer> NewIndexer(uint64_t max_block_range = 2000) {
    if (rpc_ == nullptr) UseRpc();
    auto indexer = std::make_unique<ChainIndexer>(
        ChainConfig{.chain_id = kChainId,
                    .name = "anvil",
                    .max_block_range = max_block_range},
        *source_, *repo_, [](const std::vector<eth::TokenKey>&) {});
    EXPECT_TRUE(indexer->Open().ok());
    // Quick back-off, as for the node client: a failed read comes back soon.
    uri_reader_ = std::make_unique<PgUriReader>(
        UriReaderConfig{.chain_id = kChainId, .batch = 500, .concurrency = 2},
        *pool_, *source_, "rpc-pgtest",
        [](const std::vector<eth::TokenKey>&) {}, UriReaderCounters{},
        db::QueuePolicy{
            .max_attempts = 100,
            .backoff = {absl::Milliseconds(5), absl::Milliseconds(50)}});
    return indexer;
  }

  // Steps until a step indexes nothing, as the service's worker would: a
  // failed step is counted (by reason) and the next one tries again.
  absl::Status CatchUp(ChainIndexer& indexer, int max_failures = 60) {
    int failures = 0;
    for (int i = 0; i < 2000; ++i) {
      absl::StatusOr<uint64_t> blocks = indexer.Step();
      if (!blocks.ok()) {
        ++step_errors_[ReasonOf(blocks.status())];
        if (++failures > max_failures) return blocks.status();
        continue;
      }
      if (*blocks == 0) return DrainUris(max_failures - failures);
    }
    return absl::InternalError("the indexer never caught up");
  }

  // Reads the URIs queued, as the service's URI worker would: a failed step
  // is counted and its batch comes back after its (short) back-off.
  absl::Status DrainUris(int max_failures) {
    int failures = 0;
    for (int i = 0; i < 2000; ++i) {
      absl::StatusOr<size_t> n = uri_reader_->Step();
      if (!n.ok()) {
        ++step_errors_[ReasonOf(n.status())];
        if (++failures > max_failures) return n.status();
        continue;
      }
      if (*n > 0) continue;
      absl::StatusOr<QueueDepth> left = uri_reader_->Pending();
      if (!left.ok()) return left.status();
      if (left->ready == 0) return absl::OkStatus();
      absl::SleepFor(absl::Milliseconds(20));  // in back-off
    }
    return absl::InternalError("the URI reads never finished");
  }

  // Mints `count` tokens in batches of `per_block` (one block each); the
  // URIs differ per token so a reply matched to the wrong call shows.
  void Mint(int first_id, int count, int per_block) {
    for (int start = first_id; start < first_id + count; start += per_block) {
      std::vector<std::string> ids, uris;
      for (int id = start; id < std::min(first_id + count, start + per_block);
           ++id) {
        ids.push_back(absl::StrCat(id));
        uris.push_back(absl::StrCat("ipfs://bafkrei-token-", id, "/meta.json"));
        expected_[ids.back()] = uris.back();
      }
      ASSERT_OK(chain_->MintBatch(nft_, accounts_[1], ids, uris));
    }
  }

  // The tokens table holds exactly expected_ (each once, queued, with its
  // own URI), each queued once for extraction, and the contract was probed
  // with the right answers.
  void ExpectExactlyTheMintedTokens() {
    std::map<std::string, std::string> got;
    for (const pqxx::row& row :
         Sql("SELECT token_id::text, coalesce(token_uri, '<null>'), status, "
             "coalesce(reason, '') FROM tokens")) {
      EXPECT_STREQ(row[2].c_str(), "queued")
          << row[0].c_str() << " " << row[3].c_str();
      EXPECT_TRUE(got.emplace(row[0].c_str(), row[1].c_str()).second)
          << "token " << row[0].c_str() << " twice";
    }
    EXPECT_EQ(got, expected_);
    EXPECT_EQ(Count("SELECT count(*) FROM work_queue WHERE queue = 'extract'"),
              static_cast<int64_t>(expected_.size()));
    EXPECT_EQ(Count("SELECT count(*) FROM transfers"),
              static_cast<int64_t>(expected_.size()));
    pqxx::result contract =
        Sql("SELECT name, symbol, array_to_string(interfaces, ','), "
            "coalesce(probe_error, '') FROM contracts");
    ASSERT_EQ(contract.size(), 1u);
    EXPECT_STREQ(contract[0][0].c_str(), "Demo NFT");
    EXPECT_STREQ(contract[0][1].c_str(), "DEMO");
    EXPECT_STREQ(contract[0][2].c_str(), "80ac58cd,5b5e139f");
    EXPECT_STREQ(contract[0][3].c_str(), "");
  }

  int64_t Outcomes(const std::string& outcome) {
    absl::MutexLock lock(&mu_);
    return outcomes_.count(outcome) ? outcomes_[outcome] : 0;
  }

  // The eth_getLogs spans the proxy saw, each with whether it was refused.
  std::vector<std::pair<uint64_t, bool>> LogSpans() {
    std::vector<std::pair<uint64_t, bool>> spans;
    absl::StatusOr<harness::RpcProxy::Stats> stats = proxy_->GetStats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    if (!stats.ok()) return spans;
    for (const auto& e : stats->log) {
      if (e.span) {
        spans.emplace_back(e.span->second - e.span->first + 1,
                           !e.fault.empty());
      }
    }
    return spans;
  }

  std::unique_ptr<harness::RpcProxy> proxy_;
  std::unique_ptr<http::HttpClient> http_;
  std::unique_ptr<eth::JsonRpcClient> rpc_;
  std::unique_ptr<RpcChainSource> source_;
  std::map<std::string, std::string> expected_;  // token id → URI
  std::map<std::string, int> step_errors_;       // failed steps by reason
  std::unique_ptr<PgUriReader> uri_reader_;
  absl::Mutex mu_;
  std::map<std::string, int64_t> outcomes_ ABSL_GUARDED_BY(mu_);
};

TEST_F(IndexerRpcPgTest, TruncatedNonJsonAndAbortedRepliesAreRetried) {
  Mint(1, 30, 10);
  ASSERT_OK(proxy_->AddFault(
      {.kind = "truncate", .method = "eth_getLogs", .times = 2}));
  ASSERT_OK(
      proxy_->AddFault({.kind = "not_json", .method = "eth_call", .times = 2}));
  ASSERT_OK(proxy_->AddFault(
      {.kind = "abort", .method = "eth_getBlockByNumber", .times = 1}));
  ASSERT_OK(proxy_->AddFault(
      {.kind = "truncate", .method = "eth_blockNumber", .times = 1}));
  std::unique_ptr<ChainIndexer> indexer = NewIndexer();
  ASSERT_OK(CatchUp(*indexer));
  ExpectExactlyTheMintedTokens();

  ASSERT_OK_AND_ASSIGN(harness::RpcProxy::Stats stats, proxy_->GetStats());
  EXPECT_EQ(stats.faults["truncate"], 3);
  EXPECT_EQ(stats.faults["not_json"], 2);
  EXPECT_EQ(stats.faults["abort"], 1);
  EXPECT_EQ(Outcomes("invalid"), 5);  // 3 truncated + 2 HTML pages
  EXPECT_EQ(Outcomes("transport"), 1);
  EXPECT_GT(Outcomes("ok"), 0);
}

TEST_F(IndexerRpcPgTest, ShuffledBatchRepliesAreMatchedById) {
  Mint(1, 40, 20);
  ASSERT_OK(proxy_->AddFault({.kind = "shuffle", .batch = true, .times = -1}));
  std::unique_ptr<ChainIndexer> indexer = NewIndexer();
  ASSERT_OK(CatchUp(*indexer, /*max_failures=*/0));
  // Each token has its own URI, and the probe's name/symbol/interface
  // answers landed on the right questions.
  ExpectExactlyTheMintedTokens();
  ASSERT_OK_AND_ASSIGN(harness::RpcProxy::Stats stats, proxy_->GetStats());
  EXPECT_GE(stats.faults["shuffle"], 3);  // headers, URIs, probe
  EXPECT_EQ(Outcomes("invalid"), 0);
}

TEST_F(IndexerRpcPgTest, MissingDuplicatedAndUnknownBatchEntriesAreAskedAgain) {
  Mint(1, 40, 20);
  ASSERT_OK(proxy_->AddFault(
      {.kind = "drop_entry", .method = "eth_call", .batch = true, .times = 2}));
  ASSERT_OK(proxy_->AddFault(
      {.kind = "dup_entry", .method = "eth_call", .batch = true, .times = 2}));
  ASSERT_OK(proxy_->AddFault({.kind = "drop_entry",
                              .method = "eth_getBlockByNumber",
                              .batch = true,
                              .times = 1}));
  std::unique_ptr<ChainIndexer> indexer = NewIndexer();
  ASSERT_OK(CatchUp(*indexer));
  // No token recorded as failed for a reply the node lost, and no contract
  // probe recorded as missing.
  ExpectExactlyTheMintedTokens();
  ASSERT_OK_AND_ASSIGN(harness::RpcProxy::Stats stats, proxy_->GetStats());
  EXPECT_EQ(stats.faults["drop_entry"], 3);
  EXPECT_EQ(stats.faults["dup_entry"], 2);
  EXPECT_EQ(Count("SELECT count(*) FROM indexer_errors"), 0);
}

TEST_F(IndexerRpcPgTest, RateLimitRetryAfterIsHonoured) {
  Mint(1, 10, 10);
  ASSERT_OK(proxy_->AddFault({.kind = "status",
                              .method = "eth_getLogs",
                              .times = 1,
                              .status = 429,
                              .retry_after = 2}));
  std::unique_ptr<ChainIndexer> indexer = NewIndexer();
  ASSERT_OK(CatchUp(*indexer, /*max_failures=*/0));
  ExpectExactlyTheMintedTokens();
  EXPECT_EQ(Outcomes("rate_limited"), 1);

  // Nothing reached the node in the 2 s after the 429.
  ASSERT_OK_AND_ASSIGN(harness::RpcProxy::Stats stats, proxy_->GetStats());
  auto limited =
      std::find_if(stats.log.begin(), stats.log.end(),
                   [](const auto& e) { return e.fault == "status"; });
  ASSERT_NE(limited, stats.log.end());
  ASSERT_NE(limited + 1, stats.log.end());
  EXPECT_GE((limited + 1)->t_ms - limited->t_ms, 2000 - 5);
}

TEST_F(IndexerRpcPgTest, RetryAfterBeyondTheCapFailsFastWithoutSending) {
  Mint(1, 10, 10);
  ASSERT_OK(proxy_->AddFault(
      {.kind = "status", .times = 1, .status = 429, .retry_after = 3}));
  UseRpc({}, absl::Seconds(10), /*max_retry_after=*/absl::Seconds(1));
  std::unique_ptr<ChainIndexer> indexer = NewIndexer();
  const absl::Time start = absl::Now();
  // The worker keeps stepping; until the 3 s are over, every step fails at
  // once with rate_limited and sends nothing.
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<uint64_t> step = indexer->Step();
    ASSERT_FALSE(step.ok());
    EXPECT_EQ(ReasonOf(step.status()), "rate_limited");
  }
  ASSERT_LT(absl::Now() - start, absl::Seconds(2));
  ASSERT_OK_AND_ASSIGN(harness::RpcProxy::Stats stats, proxy_->GetStats());
  EXPECT_EQ(stats.requests, 1);
  EXPECT_EQ(Outcomes("rate_limited"), 1);

  absl::SleepFor(absl::Seconds(3) - (absl::Now() - start));
  ASSERT_OK(CatchUp(*indexer, /*max_failures=*/0));
  ExpectExactlyTheMintedTokens();
}

TEST_F(IndexerRpcPgTest, ServiceUnavailableIsRetried) {
  Mint(1, 20, 10);
  ASSERT_OK(proxy_->AddFault({.kind = "status", .times = 3, .status = 503}));
  std::unique_ptr<ChainIndexer> indexer = NewIndexer();
  ASSERT_OK(CatchUp(*indexer, /*max_failures=*/0));
  ExpectExactlyTheMintedTokens();
  EXPECT_EQ(Outcomes("http_error"), 3);
}

class TooManyResultsTest : public IndexerRpcPgTest,
                           public ::testing::WithParamInterface<const char*> {};

TEST_P(TooManyResultsTest, RangeHalvesAndGrowsBack) {
  // 40 blocks of mints; the "provider" refuses eth_getLogs over 8 blocks.
  Mint(1, 80, 2);
  ASSERT_OK(proxy_->AddFault({.kind = "rpc_error",
                              .method = "eth_getLogs",
                              .min_span = 9,
                              .times = -1,
                              .message = GetParam()}));
  std::unique_ptr<ChainIndexer> indexer = NewIndexer(/*max_block_range=*/64);
  ASSERT_OK(CatchUp(*indexer));
  ExpectExactlyTheMintedTokens();
  EXPECT_GT(step_errors_["too_many_logs"], 0);
  EXPECT_GT(Outcomes("rpc_error"), 0);

  // The range halves on each refusal until the provider accepts it (a
  // span may be less than the range where the chain ends): the first
  // request is refused, some refusal is followed by exactly half its span,
  // no refusal is followed by a larger request, refusals never run longer
  // than the halvings from 64 to 8, and every accepted request is within
  // the provider's limit.
  std::vector<std::pair<uint64_t, bool>> spans = LogSpans();
  ASSERT_GE(spans.size(), 2u);
  EXPECT_TRUE(spans[0].second);
  bool halved = false;
  int refused_in_a_row = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_EQ(spans[i].second, spans[i].first > 8) << "request " << i;
    refused_in_a_row = spans[i].second ? refused_in_a_row + 1 : 0;
    EXPECT_LE(refused_in_a_row, 4) << "request " << i;
    if (i > 0 && spans[i - 1].second) {
      EXPECT_LE(spans[i].first, spans[i - 1].first) << "request " << i;
      halved = halved || spans[i].first == spans[i - 1].first / 2;
    }
  }
  EXPECT_TRUE(halved);

  // The provider relents: the range grows back, step by step (never more
  // than 4x at once), to the configured 64.
  ASSERT_OK(proxy_->ClearFaults());
  ASSERT_OK(proxy_->ResetStats());
  ASSERT_OK(chain_->Mine(300));
  ASSERT_OK(CatchUp(*indexer, /*max_failures=*/0));
  spans = LogSpans();
  ASSERT_GE(spans.size(), 4u);
  EXPECT_LT(spans[0].first, 64u);  // it starts below the cap and grows
  bool reached = false;
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_FALSE(spans[i].second);
    if (i > 0 && !reached) {
      EXPECT_GT(spans[i].first, spans[i - 1].first) << "request " << i;
      EXPECT_LE(spans[i].first, 4 * spans[i - 1].first) << "request " << i;
    }
    reached = reached || spans[i].first == 64;
  }
  EXPECT_TRUE(reached);
}

INSTANTIATE_TEST_SUITE_P(
    ProviderMessages, TooManyResultsTest,
    ::testing::Values("query returned more than 10000 results",
                      "response size exceeded"));

TEST_F(IndexerRpcPgTest, SlowReplyBeyondTheTimeoutIsRetried) {
  Mint(1, 20, 10);
  ASSERT_OK(proxy_->AddFault({.kind = "delay",
                              .method = "eth_getLogs",
                              .times = 1,
                              .delay_ms = 2500}));
  UseRpc({}, /*timeout=*/absl::Seconds(1));
  std::unique_ptr<ChainIndexer> indexer = NewIndexer();
  ASSERT_OK(CatchUp(*indexer, /*max_failures=*/0));
  ExpectExactlyTheMintedTokens();
  EXPECT_EQ(Outcomes("transport"), 1);
}

TEST_F(IndexerRpcPgTest, FailsOverFromADeadUrlAndStaysOnTheLiveOne) {
  Mint(1, 20, 10);
  const std::string dead = harness::RpcProxy::DeadUrl();
  UseRpc({dead, proxy_->url()});
  std::unique_ptr<ChainIndexer> indexer = NewIndexer();
  ASSERT_OK(CatchUp(*indexer, /*max_failures=*/0));
  ExpectExactlyTheMintedTokens();
  EXPECT_EQ(Outcomes("transport"), 1);  // once: then it stays on the live URL
  EXPECT_EQ(rpc_->url(), proxy_->url());
}

TEST_F(IndexerRpcPgTest, RateLimitedUrlIsSetAsideWhileTheOtherServes) {
  Mint(1, 20, 10);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<harness::RpcProxy> limited,
                       harness::RpcProxy::Start(anvil_->rpc_url()));
  ASSERT_OK(limited->AddFault(
      {.kind = "status", .times = -1, .status = 429, .retry_after = 30}));
  UseRpc({limited->url(), proxy_->url()});
  std::unique_ptr<ChainIndexer> indexer = NewIndexer();
  const absl::Time start = absl::Now();
  ASSERT_OK(CatchUp(*indexer, /*max_failures=*/0));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // nobody waited 30 s
  ExpectExactlyTheMintedTokens();
  ASSERT_OK_AND_ASSIGN(harness::RpcProxy::Stats stats, limited->GetStats());
  EXPECT_EQ(stats.requests, 1);
  EXPECT_EQ(Outcomes("rate_limited"), 1);
}

TEST_F(IndexerRpcPgTest, EverythingAtOnceStillIndexesExactlyOnce) {
  Mint(1, 60, 6);
  for (const char* kind :
       {"truncate", "not_json", "abort", "drop_entry", "dup_entry"}) {
    ASSERT_OK(proxy_->AddFault({.kind = kind, .times = 2}));
  }
  ASSERT_OK(proxy_->AddFault({.kind = "status", .times = 2, .status = 503}));
  ASSERT_OK(proxy_->AddFault(
      {.kind = "status", .times = 1, .status = 429, .retry_after = 1}));
  ASSERT_OK(proxy_->AddFault({.kind = "rpc_error",
                              .method = "eth_getLogs",
                              .min_span = 5,
                              .times = 4}));
  ASSERT_OK(proxy_->AddFault({.kind = "shuffle", .times = -1}));
  UseRpc({harness::RpcProxy::DeadUrl(), proxy_->url()});
  std::unique_ptr<ChainIndexer> indexer = NewIndexer(/*max_block_range=*/16);
  ASSERT_OK(CatchUp(*indexer));
  // Replaying everything (the cursor back to 0) changes nothing.
  Sql("UPDATE chains SET next_block = 0");
  std::unique_ptr<ChainIndexer> again = NewIndexer();
  ASSERT_OK(CatchUp(*again));
  ExpectExactlyTheMintedTokens();
}

}  // namespace
}  // namespace niftysave::indexer
