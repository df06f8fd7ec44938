// ChainIndexer + RpcChainSource + PgIndexerRepository against a real anvil
// node running the test contracts (testdata/contracts) and a real Postgres
// with the migrations applied. Every test gets its own chain and database.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/db/migrations.h"
#include "common/db/pool.h"
#include "common/eth/abi.h"
#include "common/eth/json_rpc_client.h"
#include "common/eth/token_key.h"
#include "common/eth/uint256.h"
#include "common/http/http_client.h"
#include "common/runtime/reason.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/indexer/chain_indexer.h"
#include "services/indexer/chain_source.h"
#include "services/indexer/indexer_test_fixture.h"
#include "services/indexer/pg_backfill_leases.h"
#include "services/indexer/pg_indexer_repository.h"
#include "services/indexer/uri_reader.h"
#include "tests/harness/dev_chain.h"
#include "tests/harness/peak_rss.h"

namespace niftysave::eth {
// Readable TokenKeys in gmock failure messages.
void PrintTo(const TokenKey& key, std::ostream* os) {
  *os << key.chain_id << "/" << key.contract << "/" << key.token_id;
}
}  // namespace niftysave::eth

namespace niftysave::indexer {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

constexpr uint64_t kChainId = 31337;  // anvil's default
// 2^256 - 1, the largest token id there is.
constexpr char kMaxId[] =
    "115792089237316195423570985008687907853269984665640564039457584007913129"
    "639935";
const std::string kZeroAddress(40, '0');

// One row of `tokens`, hex columns without 0x.
struct TokenRow {
  int64_t pk = 0;
  std::optional<std::string> token_uri;
  std::string owner;
  std::string status;
  std::optional<std::string> reason;
  std::optional<std::string> detail;
  int64_t mint_block = 0;
  std::string mint_tx;
  bool burned = false;
};

std::optional<std::string> OptionalText(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return std::string(f.c_str());
}

class IndexerPgTest : public pgtest::ChainPgTestFixture {
 protected:
  // One Postgres server for the suite; a database per test.
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SetUpRepository("indexer_test_", 4));
    backfill_leases_ = std::make_unique<PgBackfillLeases>(*pool_);
    follower_lease_ = std::make_unique<PgFollowerLease>(*pool_);

    ASSERT_NO_FATAL_FAILURE(StartAnvil());
    rpc_ = std::make_unique<eth::JsonRpcClient>(http_, anvil_->rpc_url());
    source_ =
        std::make_unique<RpcChainSource>(*rpc_, RpcChainSource::Options{});
    uri_reader_ = std::make_unique<PgUriReader>(
        UriReaderConfig{.chain_id = kChainId, .batch = 500, .concurrency = 2},
        *pool_, *source_, "indexer-pgtest",
        [this](const std::vector<eth::TokenKey>& keys) {
          notified_.insert(notified_.end(), keys.begin(), keys.end());
        });

    ASSERT_NO_FATAL_FAILURE(DeployNft());
  }

  // An indexer over this test's chain and database, opened; every batch it
  // hands to on_tokens is appended to notified_.
  absl::StatusOr<std::unique_ptr<ChainIndexer>> NewIndexer(
      uint64_t confirmations = 0, uint64_t max_block_range = 2000,
      uint64_t reorg_window = 128, uint64_t max_tokens_per_event = 10000,
      IndexerRepository* repo = nullptr, Coordination coordination = {},
      const std::string& worker_id = "indexer") {
    if (coordination.backfill == nullptr) {
      coordination.backfill = backfill_leases_.get();
    }
    IndexerCounters counters;
    counters.reorg = [this](const std::string& depth) {
      reorgs_.push_back(depth);
    };
    counters.bad_log = [this](const std::string& reason) {
      bad_logs_.push_back(reason);
    };
    auto indexer = std::make_unique<ChainIndexer>(
        ChainConfig{.chain_id = kChainId,
                    .name = "anvil",
                    .start_block = start_block_,
                    .confirmations = confirmations,
                    .max_block_range = max_block_range,
                    .reorg_window = reorg_window,
                    .max_tokens_per_event = max_tokens_per_event,
                    .max_transfers_per_range = max_transfers_per_range_,
                    .worker_id = worker_id,
                    .backfill_chunk_blocks = 3,
                    .follower_lease = absl::Seconds(1)},
        *source_, repo != nullptr ? *repo : *repo_,
        [this](const std::vector<eth::TokenKey>& keys) {
          notified_.insert(notified_.end(), keys.begin(), keys.end());
        },
        counters, coordination);
    if (absl::Status s = indexer->Open(); !s.ok()) return s;
    return indexer;
  }

  // Steps until a step indexes nothing, then reads the URIs queued (with
  // `reader`, or this test's); returns the blocks indexed.
  absl::StatusOr<uint64_t> CatchUp(ChainIndexer& indexer,
                                   UriReader* reader = nullptr) {
    uint64_t total = 0;
    for (int i = 0; i < 1000; ++i) {
      absl::StatusOr<uint64_t> blocks = indexer.Step();
      if (!blocks.ok()) return blocks.status();
      if (*blocks == 0) {
        UriReader& r = reader != nullptr ? *reader : *uri_reader_;
        if (absl::StatusOr<size_t> read = r.Drain(); !read.ok()) {
          return read.status();
        }
        return total;
      }
      total += *blocks;
    }
    return absl::InternalError("the indexer never caught up");
  }

  int64_t NextBlock() {
    return Sql("SELECT next_block FROM chains WHERE chain_id = $1",
               static_cast<int64_t>(kChainId))[0][0]
        .as<int64_t>();
  }

  std::optional<TokenRow> Token(const std::string& contract,
                                const std::string& token_id) {
    pqxx::result r = Sql(
        "SELECT id, token_uri, encode(owner, 'hex'), status, reason, detail, "
        "mint_block, encode(mint_tx, 'hex'), burned FROM tokens "
        "WHERE chain_id = $1 AND contract = decode($2, 'hex') "
        "AND token_id = $3::numeric",
        static_cast<int64_t>(kChainId), contract, token_id);
    if (r.empty()) return std::nullopt;
    const pqxx::row row = r[0];
    return TokenRow{.pk = row[0].as<int64_t>(),
                    .token_uri = OptionalText(row[1]),
                    .owner = row[2].c_str(),
                    .status = row[3].c_str(),
                    .reason = OptionalText(row[4]),
                    .detail = OptionalText(row[5]),
                    .mint_block = row[6].as<int64_t>(),
                    .mint_tx = row[7].c_str(),
                    .burned = row[8].as<bool>()};
  }

  // Token ids (decimal) with an 'extract' item in the work queue.
  std::vector<std::string> QueuedTokenIds() {
    std::vector<std::string> ids;
    for (const pqxx::row& row :
         Sql("SELECT t.token_id::text FROM work_queue w "
             "JOIN tokens t ON t.id = w.item_id "
             "WHERE w.queue = 'extract' AND w.state = 'ready'")) {
      ids.push_back(row[0].c_str());
    }
    return ids;
  }

  // The whole of a table as text, for before/after comparisons.
  std::string Dump(const std::string& select, const std::string& order_by) {
    return Sql(absl::StrCat(
        "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY ", order_by,
        "), '') FROM (", select, ") t"))[0][0]
        .c_str();
  }

  // The records a chain's indexing writes, without surrogate keys.
  std::vector<std::string> StateNow() {
    return {
        Dump("SELECT encode(contract, 'hex') c, token_id, standard, token_uri, "
             "encode(owner, 'hex'), mint_block, burned, status, reason "
             "FROM tokens",
             "c, token_id"),
        Dump("SELECT block_number, log_index, batch_index, token_id, "
             "encode(to_address, 'hex') FROM transfers",
             "block_number, log_index, batch_index"),
    };
  }

  eth::TokenKey Key(const std::string& token_id) const {
    return {kChainId, nft_, token_id};
  }

  std::unique_ptr<BackfillLeases> backfill_leases_;
  std::unique_ptr<FollowerLease> follower_lease_;
  http::HttpClient http_{http::HttpClientOptions{}};
  std::unique_ptr<eth::JsonRpcClient> rpc_;
  std::unique_ptr<RpcChainSource> source_;
  std::unique_ptr<PgUriReader> uri_reader_;
  std::vector<eth::TokenKey> notified_;
  uint64_t start_block_ = 0;                  // NewIndexer's --start_block
  uint64_t max_transfers_per_range_ = 50000;  // and its cap
  std::vector<std::string> reorgs_;           // depth buckets counted
  std::vector<std::string> bad_logs_;         // reasons counted
};

TEST_F(IndexerPgTest, RecordsMintsWithUrisOwnersAndQueuesThemForExtraction) {
  const std::string& dev = accounts_[0];
  const std::string& alice = accounts_[1];
  const std::string& bob = accounts_[2];
  ASSERT_OK_AND_ASSIGN(
      std::string tx1,
      chain_->Mint(nft_, dev, "1", "ipfs://bafkreiabc/1.json"));
  ASSERT_OK_AND_ASSIGN(
      std::string tx_max,
      chain_->Mint(nft_, alice, kMaxId, "https://example.com/max.json"));
  ASSERT_OK_AND_ASSIGN(
      std::string tx_batch,
      chain_->MintBatch(
          nft_, bob, {"10", "11"},
          {"ar://arweave-id", R"(data:application/json,{"name":"x"})"}));
  ASSERT_OK_AND_ASSIGN(uint64_t block1, chain_->TxBlock(tx1));
  ASSERT_OK_AND_ASSIGN(uint64_t block_max, chain_->TxBlock(tx_max));
  ASSERT_OK_AND_ASSIGN(uint64_t block_batch, chain_->TxBlock(tx_batch));
  ASSERT_OK_AND_ASSIGN(uint64_t head, chain_->BlockNumber());

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  ASSERT_OK_AND_ASSIGN(uint64_t indexed, CatchUp(*indexer));
  EXPECT_EQ(indexed, head + 1);  // blocks 0..head
  EXPECT_EQ(NextBlock(), static_cast<int64_t>(head + 1));
  EXPECT_EQ(indexer->Snapshot().indexed_block, head);

  struct Expected {
    std::string id, uri, owner, tx;
    uint64_t block;
  };
  const std::vector<Expected> expected = {
      {"1", "ipfs://bafkreiabc/1.json", dev, tx1, block1},
      {kMaxId, "https://example.com/max.json", alice, tx_max, block_max},
      {"10", "ar://arweave-id", bob, tx_batch, block_batch},
      {"11", R"(data:application/json,{"name":"x"})", bob, tx_batch,
       block_batch},
  };
  std::vector<int64_t> pks;
  for (const Expected& e : expected) {
    SCOPED_TRACE(e.id);
    std::optional<TokenRow> token = Token(nft_, e.id);
    ASSERT_TRUE(token.has_value());
    EXPECT_EQ(token->token_uri, e.uri);
    EXPECT_EQ(token->owner, e.owner);
    EXPECT_EQ(token->status, "queued");
    EXPECT_EQ(token->reason, std::nullopt);
    EXPECT_EQ(token->mint_block, static_cast<int64_t>(e.block));
    EXPECT_EQ("0x" + token->mint_tx, e.tx);
    EXPECT_FALSE(token->burned);
    pks.push_back(token->pk);
  }
  EXPECT_EQ(Count("SELECT count(*) FROM tokens"), 4);

  // One mint transfer per token, from the zero address.
  EXPECT_EQ(Count("SELECT count(*) FROM transfers"), 4);
  pqxx::result max_transfer =
      Sql("SELECT block_number, encode(tx_hash, 'hex'), encode(from_address, "
          "'hex'), "
          "encode(to_address, 'hex'), encode(contract, 'hex') FROM transfers "
          "WHERE token_id = $1::numeric",
          std::string(kMaxId));
  ASSERT_EQ(max_transfer.size(), 1u);
  EXPECT_EQ(max_transfer[0][0].as<int64_t>(), static_cast<int64_t>(block_max));
  EXPECT_EQ("0x" + std::string(max_transfer[0][1].c_str()), tx_max);
  EXPECT_EQ(max_transfer[0][2].c_str(), kZeroAddress);
  EXPECT_EQ(max_transfer[0][3].c_str(), alice);
  EXPECT_EQ(max_transfer[0][4].c_str(), nft_);

  pqxx::result contracts = Sql(
      "SELECT encode(address, 'hex'), standard, first_block FROM contracts");
  ASSERT_EQ(contracts.size(), 1u);
  EXPECT_EQ(contracts[0][0].c_str(), nft_);
  EXPECT_STREQ(contracts[0][1].c_str(), "erc721");
  EXPECT_EQ(contracts[0][2].as<int64_t>(), static_cast<int64_t>(block1));

  std::vector<int64_t> queued_pks;
  for (const pqxx::row& row :
       Sql("SELECT item_id FROM work_queue WHERE queue = 'extract' AND "
           "state = 'ready' AND attempts = 0")) {
    queued_pks.push_back(row[0].as<int64_t>());
  }
  EXPECT_THAT(queued_pks, UnorderedElementsAreArray(pks));
  EXPECT_EQ(Count("SELECT count(*) FROM work_queue"), 4);
}

TEST_F(IndexerPgTest, IgnoresErc20TransfersInTheSameBlocks) {
  ASSERT_OK_AND_ASSIGN(std::string erc20, chain_->Deploy("DemoERC20"));
  const std::string& dev = accounts_[0];
  // Both tokens' Transfer logs (same topic0) in one block, ERC-20 first.
  ASSERT_OK(chain_->SetAutomine(false));
  ASSERT_OK(chain_->Erc20Mint(erc20, dev, "1000000000000000000"));
  ASSERT_OK_AND_ASSIGN(std::string mint_tx,
                       chain_->Mint(nft_, dev, "7", "ipfs://bafkreiseven"));
  ASSERT_OK(chain_->Erc20Mint(erc20, accounts_[1], "7"));
  ASSERT_OK(chain_->Mine(1));
  ASSERT_OK(chain_->SetAutomine(true));
  ASSERT_OK_AND_ASSIGN(uint64_t mint_block, chain_->TxBlock(mint_tx));
  ASSERT_OK_AND_ASSIGN(uint64_t head, chain_->BlockNumber());
  ASSERT_EQ(mint_block, head);  // all three in the newest block

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  ASSERT_OK(CatchUp(*indexer));

  EXPECT_EQ(Count("SELECT count(*) FROM tokens"), 1);
  EXPECT_TRUE(Token(nft_, "7").has_value());
  EXPECT_EQ(
      Sql("SELECT count(*) FROM transfers WHERE contract = decode($1, 'hex')",
          erc20)[0][0]
          .as<int64_t>(),
      0);
  EXPECT_EQ(Count("SELECT count(*) FROM transfers"), 1);
  EXPECT_EQ(
      Sql("SELECT count(*) FROM contracts WHERE address = decode($1, 'hex')",
          erc20)[0][0]
          .as<int64_t>(),
      0);
  EXPECT_EQ(Count("SELECT count(*) FROM work_queue"), 1);
  EXPECT_THAT(notified_, ElementsAre(Key("7")));
}

TEST_F(IndexerPgTest, LaterTransfersAndBurnsUpdateOwnerAndBurned) {
  const std::string& dev = accounts_[0];
  const std::string& alice = accounts_[1];
  const std::string& bob = accounts_[2];
  ASSERT_OK(chain_->MintBatch(
      nft_, dev, {"1", "2", "3"},
      {"ipfs://bafkreione", "ipfs://bafkreitwo", "ipfs://bafkreithree"}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  ASSERT_OK(CatchUp(*indexer));
  ASSERT_EQ(notified_.size(), 3u);

  // Token 1 changes hands twice in separate blocks, token 2 is burned.
  ASSERT_OK(chain_->Transfer(nft_, dev, alice, "1"));
  ASSERT_OK(chain_->Transfer(nft_, alice, bob, "1"));
  ASSERT_OK(chain_->Burn(nft_, "2"));
  ASSERT_OK(CatchUp(*indexer));

  std::optional<TokenRow> one = Token(nft_, "1");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->owner, bob);
  EXPECT_FALSE(one->burned);
  EXPECT_EQ(one->token_uri, "ipfs://bafkreione");
  std::optional<TokenRow> two = Token(nft_, "2");
  ASSERT_TRUE(two.has_value());
  EXPECT_TRUE(two->burned);
  EXPECT_EQ(two->owner, kZeroAddress);
  std::optional<TokenRow> three = Token(nft_, "3");
  ASSERT_TRUE(three.has_value());
  EXPECT_EQ(three->owner, dev);
  EXPECT_FALSE(three->burned);

  EXPECT_EQ(Count("SELECT count(*) FROM transfers"), 6);
  EXPECT_EQ(Count("SELECT count(*) FROM transfers WHERE token_id = 1"), 3);
  // Transfers queue nothing new.
  EXPECT_EQ(Count("SELECT count(*) FROM work_queue"), 3);
  EXPECT_EQ(notified_.size(), 3u);
}

TEST_F(IndexerPgTest, ConfirmationsHoldBackTheNewestBlocks) {
  ASSERT_OK(chain_->Mine(5));
  ASSERT_OK_AND_ASSIGN(std::string tx, chain_->Mint(nft_, accounts_[0], "42",
                                                    "ipfs://bafkrei42"));
  ASSERT_OK_AND_ASSIGN(uint64_t mint_block, chain_->TxBlock(tx));
  ASSERT_OK_AND_ASSIGN(uint64_t head, chain_->BlockNumber());
  ASSERT_EQ(head, mint_block);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer(3));
  ASSERT_OK(CatchUp(*indexer));
  // Blocks head-2..head are within the confirmation depth.
  EXPECT_EQ(NextBlock(), static_cast<int64_t>(head - 2));
  EXPECT_EQ(indexer->Snapshot().indexed_block, head - 3);
  EXPECT_FALSE(Token(nft_, "42").has_value());

  ASSERT_OK(chain_->Mine(2));
  ASSERT_OK(CatchUp(*indexer));
  EXPECT_EQ(NextBlock(), static_cast<int64_t>(mint_block));
  EXPECT_FALSE(Token(nft_, "42").has_value());
  EXPECT_TRUE(notified_.empty());

  ASSERT_OK(chain_->Mine(1));
  ASSERT_OK_AND_ASSIGN(uint64_t indexed, CatchUp(*indexer));
  EXPECT_EQ(indexed, 1u);
  EXPECT_EQ(NextBlock(), static_cast<int64_t>(mint_block + 1));
  std::optional<TokenRow> token = Token(nft_, "42");
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->mint_block, static_cast<int64_t>(mint_block));
  EXPECT_THAT(notified_, ElementsAre(Key("42")));
}

TEST_F(IndexerPgTest, ReplayingIndexedBlocksChangesAndQueuesNothing) {
  const std::string& dev = accounts_[0];
  const std::string& alice = accounts_[1];
  ASSERT_OK(chain_->MintBatch(
      nft_, dev, {"1", "2", "3"},
      {"ipfs://bafkreione", "ipfs://bafkreitwo", "ipfs://bafkreithree"}));
  ASSERT_OK(chain_->Mint(nft_, alice, kMaxId, "ipfs://bafkreimax"));
  ASSERT_OK(chain_->Transfer(nft_, dev, alice, "1"));
  ASSERT_OK(chain_->Burn(nft_, "2"));
  ASSERT_OK(chain_->Mint(nft_, dev, "4", "ipfs://bafkreifour"));
  ASSERT_OK(chain_->Burn(nft_, "4"));  // recorded failed: tokenURI reverts
  ASSERT_OK_AND_ASSIGN(uint64_t head, chain_->BlockNumber());

  // Small ranges, so the replay crosses several of them.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer(0, 2));
  ASSERT_OK(CatchUp(*indexer));
  ASSERT_EQ(Count("SELECT count(*) FROM tokens"), 5);
  // URIs are read at the indexed block, the head: tokens 2 and 4 are burned
  // by then (recorded failed: tokenURI reverts), the other three queued.
  ASSERT_EQ(notified_.size(), 3u);
  ASSERT_EQ(Token(nft_, "2")->reason, "token_burned");
  std::optional<TokenRow> four = Token(nft_, "4");
  ASSERT_TRUE(four.has_value());
  ASSERT_EQ(four->status, "failed");

  // The extractor has finished token 3: its queue item is gone.
  std::optional<TokenRow> three = Token(nft_, "3");
  ASSERT_TRUE(three.has_value());
  const int64_t pk3 = three->pk;
  Sql("DELETE FROM work_queue WHERE item_id = $1", pk3);
  Sql("UPDATE tokens SET status = 'extracted' WHERE id = $1", pk3);

  auto snapshot = [&] {
    return std::vector<std::string>{
        Dump(
            "SELECT id, chain_id, encode(contract, 'hex'), token_id, "
            "token_uri, "
            "encode(owner, 'hex'), mint_block, encode(mint_tx, 'hex'), burned, "
            "status, reason, detail FROM tokens",
            "id"),
        Dump("SELECT * FROM transfers", "block_number, log_index"),
        Dump("SELECT * FROM contracts", "address"),
        Dump("SELECT * FROM work_queue", "queue, item_id"),
    };
  };
  const std::vector<std::string> before = snapshot();
  const std::vector<eth::TokenKey> notified_before = notified_;

  Sql("UPDATE chains SET next_block = 0 WHERE chain_id = $1",
      static_cast<int64_t>(kChainId));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> replay, NewIndexer(0, 2));
  ASSERT_OK_AND_ASSIGN(uint64_t replayed, CatchUp(*replay));
  EXPECT_EQ(replayed, head + 1);
  EXPECT_EQ(NextBlock(), static_cast<int64_t>(head + 1));

  const std::vector<std::string> after = snapshot();
  EXPECT_EQ(after[0], before[0]) << "tokens changed";
  EXPECT_EQ(after[1], before[1]) << "transfers changed";
  EXPECT_EQ(after[2], before[2]) << "contracts changed";
  EXPECT_EQ(after[3], before[3]) << "work_queue changed";
  EXPECT_EQ(notified_, notified_before) << "the replay notified again";
  EXPECT_EQ(Sql("SELECT count(*) FROM work_queue WHERE item_id = $1", pk3)[0][0]
                .as<int64_t>(),
            0);
}

TEST_F(IndexerPgTest, TokenUriThatFailsAtTheRangeEndIsRecordedFailedNotQueued) {
  const std::string& dev = accounts_[0];
  // Minted then burned before the range is read: tokenURI reverts, and the
  // token is burned (token_burned: its next mint reads it again).
  ASSERT_OK(chain_->Mint(nft_, dev, "5", "ipfs://bafkreifive"));
  ASSERT_OK(chain_->Burn(nft_, "5"));
  // Its URI overwritten with bytes that are not UTF-8.
  ASSERT_OK(chain_->Mint(nft_, dev, "6", "ipfs://bafkreisix"));
  ASSERT_OK(
      chain_->SetTokenUri(nft_, "6", std::string("\xff\xfe\x00garbage", 10)));
  // An empty URI.
  ASSERT_OK(chain_->Mint(nft_, dev, "7", ""));
  // And one good token in the same range.
  ASSERT_OK(chain_->Mint(nft_, dev, "8", "ipfs://bafkreieight"));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  ASSERT_OK(CatchUp(*indexer));

  std::optional<TokenRow> burned = Token(nft_, "5");
  ASSERT_TRUE(burned.has_value());
  EXPECT_EQ(burned->status, "failed");
  ASSERT_TRUE(burned->reason.has_value());
  EXPECT_EQ(*burned->reason, "token_burned");
  EXPECT_THAT(burned->detail.value_or(""), HasSubstr("nonexistent token"));
  EXPECT_EQ(burned->token_uri, std::nullopt);
  EXPECT_TRUE(burned->burned);

  std::optional<TokenRow> garbage = Token(nft_, "6");
  ASSERT_TRUE(garbage.has_value());
  EXPECT_EQ(garbage->status, "failed");
  EXPECT_EQ(garbage->reason, "token_uri_not_utf8");
  EXPECT_EQ(garbage->token_uri, std::nullopt);

  std::optional<TokenRow> empty = Token(nft_, "7");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->status, "failed");
  EXPECT_EQ(empty->reason, "uri_empty");

  std::optional<TokenRow> good = Token(nft_, "8");
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->status, "queued");

  EXPECT_THAT(QueuedTokenIds(), ElementsAre("8"));
  EXPECT_THAT(notified_, ElementsAre(Key("8")));
}

// Issue 12: the revert data is decoded, not shown as the node's guess (anvil
// prints a custom error's ABI words as characters: 31 U+FFFD and a byte).
TEST_F(IndexerPgTest, RevertReasonsAreRecordedReadably) {
  ASSERT_OK_AND_ASSIGN(const std::string reverts,
                       chain_->Deploy("DemoReverts"));
  const std::string& dev = accounts_[0];
  for (const char* id : {"1", "2", "3", "4", "5"}) {
    ASSERT_OK(chain_->Mint(reverts, dev, id, "ipfs://bafkreireverts"));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  ASSERT_OK(CatchUp(*indexer));

  auto detail = [&](const char* id) {
    std::optional<TokenRow> t = Token(reverts, id);
    EXPECT_TRUE(t.has_value()) << id;
    if (!t) return std::string();
    EXPECT_EQ(t->status, "failed") << id;
    EXPECT_EQ(t->reason, "token_uri_revert") << id;
    return t->detail.value_or("");
  };
  // NotRevealed(uint256 id, address owner): 0x2dee1197 is the first four
  // bytes of keccak-256("NotRevealed(uint256,address)") (js-sha3, solc's).
  EXPECT_EQ(detail("1"), absl::StrCat("execution reverted: custom error "
                                      "0x2dee1197(0x1, 0x",
                                      dev, ")"));
  EXPECT_EQ(detail("2"), "execution reverted: not revealed yet");
  EXPECT_EQ(detail("3"),
            "execution reverted: panic 0x11 (arithmetic overflow)");
  EXPECT_EQ(detail("4"), "execution reverted without a reason");
  EXPECT_EQ(Token(reverts, "5")->token_uri, "ipfs://bafkreireverts");
}

TEST_F(IndexerPgTest, OnTokensReceivesExactlyTheNewlyQueuedKeys) {
  const std::string& dev = accounts_[0];
  ASSERT_OK(chain_->Mint(nft_, dev, "1", "ipfs://bafkreione"));
  ASSERT_OK(chain_->MintBatch(nft_, dev, {"2", kMaxId},
                              {"ipfs://bafkreitwo", "ipfs://bafkreimax"}));
  // Minted and burned in one block: failed, so never handed on.
  ASSERT_OK(chain_->SetAutomine(false));
  ASSERT_OK(chain_->Mint(nft_, dev, "3", "ipfs://bafkreithree"));
  ASSERT_OK(chain_->Burn(nft_, "3"));
  ASSERT_OK(chain_->Mine(1));
  ASSERT_OK(chain_->SetAutomine(true));

  // One block per step: each step hands on only that block's new tokens.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer(0, 1));
  ASSERT_OK(CatchUp(*indexer));
  EXPECT_THAT(notified_,
              UnorderedElementsAreArray({Key("1"), Key("2"), Key(kMaxId)}));
  std::vector<std::string> notified_ids;
  for (const eth::TokenKey& key : notified_) {
    EXPECT_EQ(key.chain_id, kChainId);
    EXPECT_EQ(key.contract, nft_);
    notified_ids.push_back(key.token_id);
  }
  EXPECT_THAT(QueuedTokenIds(), UnorderedElementsAreArray(notified_ids));

  // Later tokens are handed on once, and earlier ones not again.
  notified_.clear();
  ASSERT_OK(chain_->Mint(nft_, dev, "9", "ipfs://bafkreinine"));
  ASSERT_OK(chain_->Transfer(nft_, dev, accounts_[1], "1"));
  ASSERT_OK(CatchUp(*indexer));
  EXPECT_THAT(notified_, ElementsAre(Key("9")));
  EXPECT_EQ(QueuedTokenIds().size(), 4u);
}

// The harness itself: a reverted transaction is an error naming the reason.
TEST_F(IndexerPgTest, DevChainReportsRevertsWithTheirReason) {
  ASSERT_OK(chain_->Mint(nft_, accounts_[0], "1", "ipfs://bafkreione"));
  absl::StatusOr<std::string> again =
      chain_->Mint(nft_, accounts_[0], "1", "ipfs://bafkreione");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(again.status().message(), HasSubstr("token exists"));
  // Reverted in a pooled block too.
  ASSERT_OK(chain_->SetAutomine(false));
  ASSERT_OK(chain_->Burn(nft_, "99"));
  absl::Status mined = chain_->Mine(1);
  EXPECT_EQ(mined.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(mined.message(), HasSubstr("burn 99 reverted"));
}

// The harness's Zora-style contract: tokenURI is the content, and the metadata
// URI and both sha256 are on chain as the minter gave them.
TEST_F(IndexerPgTest, ZoraStyleMediaServesBothUrisAndHashes) {
  ASSERT_OK_AND_ASSIGN(std::string media, chain_->Deploy("ZoraStyleMedia"));
  const std::string content_sha(32, '\x11');
  const std::string metadata_sha(32, '\x22');
  ASSERT_OK(chain_->ZoraMint(media, accounts_[0], "https://c/0", "https://m/0",
                             content_sha, metadata_sha));
  auto call = [&](const char* selector) -> absl::StatusOr<std::string> {
    absl::StatusOr<nlohmann::json> r = chain_->rpc().Call(
        "eth_call",
        nlohmann::json::array(
            {{{"to", "0x" + media},
              {"data", eth::EncodeCallUint256(selector, eth::Uint256(0))}},
             "latest"}));
    if (!r.ok()) return r.status();
    return r->get<std::string>();
  };
  ASSERT_OK_AND_ASSIGN(std::string content, call("c87b56dd"));
  EXPECT_EQ(eth::DecodeAbiString(content, 1024).value_or(""), "https://c/0");
  ASSERT_OK_AND_ASSIGN(std::string metadata, call("157c3df9"));
  EXPECT_EQ(eth::DecodeAbiString(metadata, 1024).value_or(""), "https://m/0");
  ASSERT_OK_AND_ASSIGN(std::string content_hash, call("fad32197"));
  EXPECT_EQ(content_hash, "0x" + std::string(64, '1'));
  ASSERT_OK_AND_ASSIGN(std::string metadata_hash, call("01ddc3b5"));
  EXPECT_EQ(metadata_hash, "0x" + std::string(64, '2'));
}

// A Zora-style contract is recognised once, from its code, and recorded as
// family zora_media; its tokens get both URIs and both hashes (a zero hash
// is "not committed": NULL), and a standard contract beside it stays
// 'standard' with none of them.
TEST_F(IndexerPgTest, ZoraStyleMediaIsDetectedAndBothUrisAndHashesRead) {
  ASSERT_OK_AND_ASSIGN(std::string media, chain_->Deploy("ZoraStyleMedia"));
  const std::string content_sha(32, '\x11');
  const std::string metadata_sha(32, '\x22');
  ASSERT_OK(chain_->ZoraMint(media, accounts_[0], "https://c/0", "https://m/0",
                             content_sha, metadata_sha));
  ASSERT_OK(chain_->ZoraMint(media, accounts_[0], "https://c/1", "https://m/1",
                             std::string(32, '\0'), metadata_sha));
  ASSERT_OK(chain_->ZoraMint(media, accounts_[0], "https://c/2", "",
                             content_sha, metadata_sha));
  ASSERT_OK(chain_->Mint(nft_, accounts_[0], "7", "ipfs://bafkreiseven"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  ASSERT_OK(CatchUp(*indexer));

  auto family = [&](const std::string& contract) {
    return Sql("SELECT family FROM contracts WHERE address = decode($1, 'hex')",
               contract)[0][0]
        .as<std::string>();
  };
  EXPECT_EQ(family(media), "zora_media");
  EXPECT_EQ(family(nft_), "standard");
  auto row = [&](const std::string& contract, const char* id) {
    pqxx::result r =
        Sql("SELECT coalesce(token_uri, '-'), coalesce(metadata_uri, '-'), "
            "coalesce(encode(content_sha256, 'hex'), '-'), "
            "coalesce(encode(metadata_sha256, 'hex'), '-'), status, "
            "coalesce(reason, '-') FROM tokens "
            "WHERE contract = decode($1, 'hex') AND token_id = $2::numeric",
            contract, std::string(id));
    std::vector<std::string> out;
    for (const auto& f : r.at(0)) out.push_back(f.as<std::string>());
    return out;
  };
  EXPECT_THAT(row(media, "0"),
              ElementsAre("https://c/0", "https://m/0", std::string(64, '1'),
                          std::string(64, '2'), "queued", "-"));
  EXPECT_THAT(row(media, "1"),
              ElementsAre("https://c/1", "https://m/1", "-",
                          std::string(64, '2'), "queued", "-"));
  // An empty metadata URI is the URI reads' own failure.
  EXPECT_THAT(row(media, "2"),
              ElementsAre("-", "-", "-", "-", "failed", "uri_empty"));
  EXPECT_THAT(row(nft_, "7"),
              ElementsAre("ipfs://bafkreiseven", "-", "-", "-", "queued", "-"));
}

// A token burned and minted again keeps its row (same chain, contract, id):
// the re-mint must bring it back to life with its new owner.
TEST_F(IndexerPgTest, RemintAfterBurnRevivesTheToken) {
  const std::string& dev = accounts_[0];
  const std::string& alice = accounts_[1];
  ASSERT_OK(chain_->Mint(nft_, dev, "1", "ipfs://bafkreione"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  ASSERT_OK(CatchUp(*indexer));
  ASSERT_OK(chain_->Burn(nft_, "1"));
  ASSERT_OK(CatchUp(*indexer));
  ASSERT_TRUE(Token(nft_, "1")->burned);

  ASSERT_OK(chain_->Mint(nft_, alice, "1", "ipfs://bafkreione-again"));
  ASSERT_OK(CatchUp(*indexer));
  std::optional<TokenRow> token = Token(nft_, "1");
  ASSERT_TRUE(token.has_value());
  EXPECT_FALSE(token->burned);
  EXPECT_EQ(token->owner, alice);
}

// --- Reorgs ---------------------------------------------------------------

// Everything the indexer writes, without surrogate keys, from `conninfo`.
std::vector<std::string> StateOf(const std::string& conninfo) {
  pqxx::connection conn(conninfo);
  pqxx::nontransaction txn(conn);
  auto dump = [&](const std::string& select, const std::string& order) {
    return std::string(
        txn.exec(absl::StrCat("SELECT coalesce(string_agg(t::text, E'\\n' "
                              "ORDER BY ",
                              order, "), '') FROM (", select, ") t"))[0][0]
            .c_str());
  };
  return {
      dump("SELECT encode(contract, 'hex') c, token_id, standard, token_uri, "
           "encode(owner, 'hex'), mint_block, burned, status, reason "
           "FROM tokens",
           "c, token_id"),
      dump("SELECT block_number, log_index, batch_index, encode(contract, "
           "'hex'), token_id, encode(from_address, 'hex'), "
           "encode(to_address, 'hex'), amount, standard FROM transfers",
           "block_number, log_index, batch_index"),
      dump("SELECT encode(contract, 'hex') c, token_id, encode(owner, 'hex') o,"
           " balance FROM erc1155_balances WHERE balance <> 0",
           "c, token_id, o"),
      dump("SELECT encode(address, 'hex') a, standard, first_block, name "
           "FROM contracts",
           "a"),
      dump("SELECT encode(t.contract, 'hex') c, t.token_id FROM work_queue w "
           "JOIN tokens t ON t.id = w.item_id WHERE w.queue = 'extract'",
           "c, token_id"),
  };
}

class IndexerReorgPgTest : public IndexerPgTest {
 protected:
  // The same chain indexed from scratch into a new database: what the
  // reorged database must now equal.
  absl::StatusOr<std::vector<std::string>> FreshIndexState() {
    absl::StatusOr<std::string> conninfo =
        NewMigratedDatabase("indexer_fresh_");
    if (!conninfo.ok()) return conninfo.status();
    absl::StatusOr<std::unique_ptr<db::Pool>> pool =
        db::Pool::Create(*conninfo, 2);
    if (!pool.ok()) return pool.status();
    PgIndexerRepository repo(**pool);
    ChainIndexer fresh(ChainConfig{.chain_id = kChainId, .name = "anvil"},
                       *source_, repo,
                       [](const std::vector<eth::TokenKey>&) {});
    if (absl::Status s = fresh.Open(); !s.ok()) return s;
    PgUriReader reader(UriReaderConfig{.chain_id = kChainId}, **pool, *source_,
                       "fresh", [](const std::vector<eth::TokenKey>&) {});
    if (absl::StatusOr<uint64_t> n = CatchUp(fresh, &reader); !n.ok()) {
      return n.status();
    }
    return StateOf(*conninfo);
  }
};

TEST_F(IndexerReorgPgTest, DepthOneRollsBackOrphanedMintAndTransfer) {
  const std::string& dev = accounts_[0];
  const std::string& alice = accounts_[1];
  ASSERT_OK(chain_->Mint(nft_, dev, "1", "ipfs://bafkreione"));
  ASSERT_OK_AND_ASSIGN(std::string snapshot, chain_->Snapshot());
  // The block that will be orphaned: a mint and a transfer of token 1.
  ASSERT_OK(chain_->SetAutomine(false));
  ASSERT_OK(chain_->Mint(nft_, dev, "2", "ipfs://bafkreiorphan"));
  ASSERT_OK(chain_->Transfer(nft_, dev, alice, "1"));
  ASSERT_OK(chain_->Mine(1));
  ASSERT_OK(chain_->SetAutomine(true));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  ASSERT_OK(CatchUp(*indexer));
  ASSERT_TRUE(Token(nft_, "2").has_value());
  ASSERT_EQ(Token(nft_, "1")->owner, alice);
  const int64_t orphan_pk = Token(nft_, "2")->pk;
  ASSERT_EQ(
      Sql("SELECT count(*) FROM work_queue WHERE item_id = $1", orphan_pk)[0][0]
          .as<int64_t>(),
      1);

  // Replace that block by another with a different mint; the new chain is
  // one block longer.
  ASSERT_OK(chain_->Revert(snapshot));
  ASSERT_OK(chain_->Mint(nft_, dev, "3", "ipfs://bafkreithree"));
  ASSERT_OK(chain_->Mine(1));
  ASSERT_OK(CatchUp(*indexer));

  EXPECT_THAT(reorgs_, ElementsAre("1"));
  EXPECT_FALSE(Token(nft_, "2").has_value());
  EXPECT_EQ(
      Sql("SELECT count(*) FROM work_queue WHERE item_id = $1", orphan_pk)[0][0]
          .as<int64_t>(),
      0)
      << "the vanished token's extraction was not cancelled";
  ASSERT_TRUE(Token(nft_, "3").has_value());
  EXPECT_EQ(Token(nft_, "1")->owner, dev) << "owner not recomputed";
  ASSERT_OK_AND_ASSIGN(uint64_t head, chain_->BlockNumber());
  EXPECT_EQ(NextBlock(), static_cast<int64_t>(head + 1));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> fresh, FreshIndexState());
  EXPECT_EQ(StateOf(conninfo_), fresh);
}

TEST_F(IndexerReorgPgTest, DepthFiveWithErc1155BalancesMatchesAFreshIndex) {
  const std::string& dev = accounts_[0];
  const std::string& alice = accounts_[1];
  const std::string& bob = accounts_[2];
  ASSERT_OK_AND_ASSIGN(std::string multi, chain_->Deploy("DemoMulti"));
  ASSERT_OK(chain_->MultiMint(multi, dev, "1", "10"));
  ASSERT_OK(chain_->Mint(nft_, dev, "1", "ipfs://bafkreione"));
  ASSERT_OK_AND_ASSIGN(std::string snapshot, chain_->Snapshot());
  // Five blocks to be orphaned.
  ASSERT_OK(chain_->MultiTransfer(multi, dev, alice, "1", "4"));
  ASSERT_OK(chain_->MultiMintBatch(multi, bob, {"2", kMaxId}, {"5", "7"}));
  ASSERT_OK(chain_->Transfer(nft_, dev, alice, "1"));
  ASSERT_OK(chain_->Mint(nft_, bob, "5", "ipfs://bafkreifive"));
  ASSERT_OK(chain_->MultiSetUri(multi, "1", "ipfs://bafkreiorphaned-uri"));

  // One block per step: every block's hash is stored, so the depth is exact.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer(0, 1));
  ASSERT_OK(CatchUp(*indexer));
  ASSERT_EQ(Count("SELECT count(*) FROM erc1155_balances WHERE balance <> 0"),
            4);
  ASSERT_EQ(Sql("SELECT token_uri FROM tokens WHERE contract = decode($1, "
                "'hex') AND token_id = 1",
                multi)[0][0]
                .c_str(),
            std::string("ipfs://bafkreiorphaned-uri"));

  ASSERT_OK(chain_->Revert(snapshot));
  ASSERT_OK(chain_->MultiTransfer(multi, dev, bob, "1", "1"));
  ASSERT_OK(chain_->Mint(nft_, alice, "6", "ipfs://bafkreisix"));
  ASSERT_OK(chain_->Mine(4));
  ASSERT_OK(CatchUp(*indexer));

  EXPECT_THAT(reorgs_, ElementsAre("2-5"));
  EXPECT_FALSE(Token(nft_, "5").has_value());
  EXPECT_TRUE(Token(nft_, "6").has_value());
  EXPECT_EQ(Token(nft_, "1")->owner, dev);
  // The URI the orphaned URI event set is read again from the chain.
  EXPECT_EQ(Sql("SELECT token_uri FROM tokens WHERE contract = decode($1, "
                "'hex') AND token_id = 1",
                multi)[0][0]
                .c_str(),
            std::string("ipfs://bafkreidemomulti/{id}.json"));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> fresh, FreshIndexState());
  const std::vector<std::string> now = StateOf(conninfo_);
  EXPECT_EQ(now[0], fresh[0]) << "tokens";
  EXPECT_EQ(now[1], fresh[1]) << "transfers";
  EXPECT_EQ(now[2], fresh[2]) << "balances";
  EXPECT_EQ(now[3], fresh[3]) << "contracts";
}

TEST_F(IndexerReorgPgTest, BeyondTheWindowStopsAndChangesNothing) {
  const std::string& dev = accounts_[0];
  ASSERT_OK_AND_ASSIGN(std::string snapshot, chain_->Snapshot());
  for (int i = 1; i <= 8; ++i) {
    ASSERT_OK(chain_->Mint(nft_, dev, absl::StrCat(i), "ipfs://bafkreix"));
  }
  // A window of 4 blocks, one block per step.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer,
                       NewIndexer(0, 1, /*reorg_window=*/4));
  ASSERT_OK(CatchUp(*indexer));
  ASSERT_EQ(Count("SELECT count(*) FROM tokens"), 8);
  const std::vector<std::string> before = StateOf(conninfo_);
  const int64_t cursor = NextBlock();

  // Every one of those 8 blocks is replaced, and the chain grows past them.
  ASSERT_OK(chain_->Revert(snapshot));
  ASSERT_OK(chain_->Mint(nft_, dev, "100", "ipfs://bafkreinew"));
  ASSERT_OK(chain_->Mine(10));
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<uint64_t> step = indexer->Step();
    EXPECT_EQ(step.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(step.status().message(), HasSubstr("reorg window"));
  }
  EXPECT_EQ(StateOf(conninfo_), before);
  EXPECT_EQ(NextBlock(), cursor);
  EXPECT_THAT(reorgs_, ElementsAre("beyond_window"));  // counted once
  EXPECT_EQ(Count("SELECT count(*) FROM indexer_errors "
                  "WHERE reason = 'reorg_beyond_window'"),
            1);
  EXPECT_THAT(indexer->Snapshot().halted, HasSubstr("reorg window"));
}

// --- ERC-1155 ---------------------------------------------------------------

TEST_F(IndexerPgTest, Erc1155MintsBalancesUriEventsAndContractProbe) {
  const std::string& dev = accounts_[0];
  const std::string& alice = accounts_[1];
  const std::string& bob = accounts_[2];
  ASSERT_OK_AND_ASSIGN(std::string multi, chain_->Deploy("DemoMulti"));
  ASSERT_OK(chain_->MultiMint(multi, dev, "1", "10"));
  ASSERT_OK(chain_->MultiMintBatch(multi, alice, {"2", kMaxId}, {"5", "7"}));
  ASSERT_OK(chain_->MultiTransfer(multi, dev, bob, "1", "3"));
  ASSERT_OK(
      chain_->MultiMint(multi, bob, "1", "1"));  // more supply: no new token
  ASSERT_OK(chain_->MultiSetUri(multi, "2", "ipfs://bafkreitwo/2.json"));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  ASSERT_OK(CatchUp(*indexer));

  auto uri_of = [&](const std::string& id) {
    pqxx::result r =
        Sql("SELECT token_uri, standard, status, owner IS NULL FROM tokens "
            "WHERE contract = decode($1, 'hex') AND token_id = $2::numeric",
            multi, id);
    EXPECT_EQ(r.size(), 1u) << id;
    if (r.empty()) return std::string();
    EXPECT_STREQ(r[0][1].c_str(), "erc1155");
    EXPECT_STREQ(r[0][2].c_str(), "queued");
    EXPECT_TRUE(r[0][3].as<bool>());
    return std::string(r[0][0].c_str());
  };
  // The template as the contract returns it: the extractor substitutes {id}.
  EXPECT_EQ(uri_of("1"), "ipfs://bafkreidemomulti/{id}.json");
  EXPECT_EQ(uri_of("2"), "ipfs://bafkreitwo/2.json");
  EXPECT_EQ(uri_of(kMaxId), "ipfs://bafkreidemomulti/{id}.json");
  EXPECT_EQ(Count("SELECT count(*) FROM tokens"), 3);

  EXPECT_EQ(Dump("SELECT token_id, encode(owner, 'hex') o, balance FROM "
                 "erc1155_balances WHERE balance <> 0",
                 "token_id, o"),
            absl::StrCat("(1,", bob, ",4)\n(1,", dev, ",7)\n(2,", alice,
                         ",5)\n(", kMaxId, ",", alice, ",7)"));
  EXPECT_EQ(Count("SELECT count(*) FROM transfers WHERE standard = "
                  "'erc1155'"),
            5);
  pqxx::result contract =
      Sql("SELECT standard, name, symbol, array_to_string(interfaces, ',') "
          "FROM contracts WHERE address = decode($1, 'hex')",
          multi);
  ASSERT_EQ(contract.size(), 1u);
  EXPECT_STREQ(contract[0][0].c_str(), "erc1155");
  EXPECT_STREQ(contract[0][1].c_str(), "Demo Multi");
  EXPECT_STREQ(contract[0][2].c_str(), "DMULTI");
  EXPECT_STREQ(contract[0][3].c_str(), "d9b67a26,0e89341c");

  // The extractor finished token 1; a URI event sends it back.
  Sql("DELETE FROM work_queue");
  Sql("UPDATE tokens SET status = 'archived'");
  notified_.clear();
  ASSERT_OK(chain_->MultiSetUri(multi, "1", "ipfs://bafkreinew/1.json"));
  ASSERT_OK(CatchUp(*indexer));
  EXPECT_EQ(uri_of("1"), "ipfs://bafkreinew/1.json");
  EXPECT_THAT(QueuedTokenIds(), ElementsAre("1"));
  EXPECT_THAT(notified_, ElementsAre(eth::TokenKey{kChainId, multi, "1"}));
}

// --- ERC-2309, ERC-4906 and malformed logs
// ------------------------------------

std::string Topic(const std::string& hex_word) {
  return "0x" + std::string(64 - hex_word.size(), '0') + hex_word;
}
std::string Word(uint64_t v) { return eth::Uint256(v).ToHex64(); }

TEST_F(IndexerPgTest, RangedMintsRefreshSignalsAndMalformedLogs) {
  const std::string& alice = accounts_[1];
  ASSERT_OK_AND_ASSIGN(std::string raw, chain_->Deploy("DemoRawLogs"));
  const std::string zero = Topic("");
  // ERC-2309: tokens 1..5 to alice, and a range over the cap of 3.
  ASSERT_OK(chain_->RawLog(
      raw, {eth::kConsecutiveTransferTopic, Topic("1"), zero, Topic(alice)},
      Word(5)));
  ASSERT_OK(chain_->RawLog(
      raw, {eth::kConsecutiveTransferTopic, Topic("64"), zero, Topic(alice)},
      Word(100000)));
  // Malformed: wrong topic counts, wrong data lengths, bad ABI.
  ASSERT_OK(chain_->RawLog(raw, {eth::kTransferSingleTopic, zero, zero},
                           Word(1) + Word(1)));
  ASSERT_OK(chain_->RawLog(
      raw, {eth::kTransferSingleTopic, zero, zero, Topic(alice)}, Word(1)));
  ASSERT_OK(chain_->RawLog(raw,
                           {eth::kTransferBatchTopic, zero, zero, Topic(alice)},
                           // ids [9] but values [] : lengths differ.
                           Word(64) + Word(128) + Word(1) + Word(9) + Word(0)));
  ASSERT_OK(
      chain_->RawLog(raw, {eth::kTransferBatchTopic, zero, zero, Topic(alice)},
                     // an array length of 2^40: over the limit, not allocated.
                     Word(64) + Word(96) + Word(1ull << 40)));
  ASSERT_OK(chain_->RawLog(raw, {eth::kUriTopic, Topic("1")}, "0xdeadbeef"));
  ASSERT_OK(chain_->RawLog(
      raw, {eth::kTransferTopic, zero, Topic(alice), Topic("9")}, Word(1)));
  ASSERT_OK(chain_->RawLog(
      raw, {eth::kConsecutiveTransferTopic, Topic("9"), zero, Topic(alice)},
      ""));
  ASSERT_OK(chain_->RawLog(raw, {eth::kMetadataUpdateTopic}, Word(1) + "00"));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer,
                       NewIndexer(0, 2000, 128, /*max_tokens_per_event=*/3));
  ASSERT_OK(CatchUp(*indexer));

  EXPECT_EQ(bad_logs_.size(), 8u);
  for (const std::string& reason : bad_logs_) EXPECT_EQ(reason, "log_invalid");
  EXPECT_EQ(Count("SELECT count(*) FROM tokens"),
            6);  // 1..3 (capped), 100..102
  EXPECT_EQ(Dump("SELECT token_id FROM tokens", "token_id"),
            "(1)\n(2)\n(3)\n(100)\n(101)\n(102)");
  EXPECT_EQ(Count("SELECT count(*) FROM tokens WHERE owner = decode('" + alice +
                  "', 'hex') AND token_uri = 'ipfs://bafkreirawlogs'"),
            6);
  EXPECT_EQ(Count("SELECT count(*) FROM indexer_errors "
                  "WHERE reason = 'range_too_large'"),
            2);
  pqxx::result contract =
      Sql("SELECT name, symbol, array_to_string(interfaces, ',') FROM "
          "contracts WHERE address = decode($1, 'hex')",
          raw);
  ASSERT_EQ(contract.size(), 1u);
  EXPECT_STREQ(contract[0][0].c_str(), "Raw Logs");  // from bytes32
  EXPECT_STREQ(contract[0][1].c_str(), "RAW");
  EXPECT_STREQ(contract[0][2].c_str(), "80ac58cd,49064906");

  // ERC-4906: token 2's URI changes, token 3's turns to garbage; one batch
  // signal over every id there is refreshes all six, in chunks of 3 (the
  // cap) by id: the first with the range, the rest from pending_refreshes.
  Sql("DELETE FROM work_queue");
  Sql("UPDATE tokens SET status = 'archived'");
  ASSERT_OK(chain_->SetTokenUri(raw, "2", "ipfs://bafkreiupdated"));
  ASSERT_OK(chain_->SetTokenUri(raw, "3", std::string("\xff\xfe\xfd", 3)));
  ASSERT_OK(chain_->RawLog(raw, {eth::kMetadataUpdateTopic}, Word(2)));
  ASSERT_OK(chain_->RawLog(raw, {eth::kBatchMetadataUpdateTopic},
                           Word(0) + std::string(64, 'f')));
  // The range write queues the first chunk and leaves the rest pending; a
  // restart (a new indexer) goes on where the last one stopped.
  const std::string pending = "SELECT count(*) FROM pending_refreshes";
  for (int i = 0; i < 50 && Count(pending) == 0; ++i) {
    ASSERT_TRUE(indexer->Step().ok());
  }
  ASSERT_EQ(Count(pending), 1);
  const int64_t refresh_block =
      Sql("SELECT block FROM pending_refreshes")[0][0].as<int64_t>();
  indexer.reset();
  ASSERT_OK_AND_ASSIGN(indexer,
                       NewIndexer(0, 2000, 128, /*max_tokens_per_event=*/3));
  ASSERT_OK(CatchUp(*indexer));
  EXPECT_EQ(Token(raw, "2")->token_uri, "ipfs://bafkreiupdated");
  EXPECT_EQ(Token(raw, "3")->status, "failed");
  EXPECT_EQ(Token(raw, "3")->reason, "token_uri_not_utf8");
  EXPECT_THAT(QueuedTokenIds(),
              UnorderedElementsAreArray({"1", "2", "100", "101", "102"}));
  EXPECT_EQ(Count(pending), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM indexer_errors "
                  "WHERE reason = 'refresh_too_large'"),
            0);

  // A rollback past the event's block drops a refresh still pending.
  Sql("INSERT INTO pending_refreshes (chain_id, contract, next_id, to_id, "
      "block) VALUES ($1, decode($2, 'hex'), 4, 99, $3)",
      static_cast<int64_t>(kChainId), raw, refresh_block);
  indexer.reset();
  ASSERT_TRUE(repo_->Rollback(kChainId, refresh_block - 1).ok());
  EXPECT_EQ(Count(pending), 0);
}

// Migration 0012 repairs what the indexer wrote before re-mints were read
// again: a token recorded token_uri_revert and alive now is read again; one
// still burned gets token_burned.
TEST_F(IndexerPgTest, Migration0012ReadsStuckReMintedTokensAgain) {
  const std::string& dev = accounts_[0];
  ASSERT_OK(chain_->Mint(nft_, dev, "7", "ipfs://bafkreiseven"));
  ASSERT_OK(chain_->Mint(nft_, dev, "8", "ipfs://bafkreieight"));
  ASSERT_OK(chain_->Burn(nft_, "8"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  ASSERT_OK(CatchUp(*indexer));
  // As the indexer before the fix left them.
  Sql("UPDATE tokens SET token_uri = NULL, status = 'failed', "
      "reason = 'token_uri_revert', "
      "detail = 'execution reverted: nonexistent token' "
      "WHERE token_id IN (7, 8)");
  // Its SQL again, as `niftysave migrate` ran it on such a database.
  const db::Migration* m0012 = nullptr;
  for (const db::Migration& m : db::AllMigrations()) {
    if (m.version == 12) m0012 = &m;
  }
  ASSERT_NE(m0012, nullptr);
  {
    pqxx::connection conn(conninfo_);
    pqxx::work txn(conn);
    txn.exec(m0012->sql);  // several statements: the simple protocol
    txn.commit();
  }

  std::optional<TokenRow> eight = Token(nft_, "8");
  EXPECT_EQ(eight->reason, "token_burned");
  EXPECT_EQ(eight->detail,
            "burned: its next mint reads it again (execution reverted: "
            "nonexistent token)");
  ASSERT_OK(uri_reader_->Drain());
  std::optional<TokenRow> seven = Token(nft_, "7");
  EXPECT_EQ(seven->token_uri, "ipfs://bafkreiseven");
  EXPECT_EQ(seven->status, "queued");
  EXPECT_EQ(seven->reason, std::nullopt);
  EXPECT_EQ(Token(nft_, "8")->reason, "token_burned");
}

// Issue 12: a chain shorter than --confirmations indexes nothing yet; the
// indexer says which block it waits for, and why, once.
TEST_F(IndexerPgTest, LogsTheBlockItWaitsForWhileTheChainIsShort) {
  ASSERT_OK_AND_ASSIGN(const uint64_t head, chain_->BlockNumber());
  ASSERT_LT(head, 12u);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer(12));
  ::testing::internal::CaptureStderr();
  absl::StatusOr<uint64_t> first = indexer->Step();
  absl::StatusOr<uint64_t> second = indexer->Step();
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_EQ(*first, 0u);
  const std::string line = absl::StrCat("waiting for block 12: head is ", head,
                                        " and --confirmations=12");
  EXPECT_THAT(log, HasSubstr(line));
  EXPECT_EQ(log.find(line), log.rfind(line)) << "logged twice:\n" << log;

  // Once the head is there, the range is indexed and nothing more is said.
  ASSERT_OK(chain_->Mine(12 - head));
  ::testing::internal::CaptureStderr();
  absl::StatusOr<uint64_t> indexed = indexer->Step();
  const std::string later = ::testing::internal::GetCapturedStderr();
  ASSERT_OK(indexed);
  EXPECT_EQ(*indexed, 1u);
  EXPECT_THAT(later, Not(HasSubstr("waiting for block")));
}

// Issue 12, point 1: every mint, first or not, reads the token's URI again,
// and a revert of a burned token is not a final failure.
TEST_F(IndexerPgTest, ReMintedTokensHaveTheirUriReadAgain) {
  const std::string& dev = accounts_[0];
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  // Minted and burned in one range: tokenURI reverts at the block read.
  ASSERT_OK(chain_->Mint(nft_, dev, "5", "ipfs://bafkreifirst"));
  ASSERT_OK(chain_->Burn(nft_, "5"));
  // Read once, then burned and minted again with another URI in one range.
  ASSERT_OK(chain_->Mint(nft_, dev, "6", "ipfs://bafkreisix"));
  ASSERT_OK(CatchUp(*indexer));
  std::optional<TokenRow> five = Token(nft_, "5");
  ASSERT_TRUE(five.has_value());
  EXPECT_TRUE(five->burned);
  EXPECT_EQ(five->status, "failed");
  EXPECT_EQ(five->reason, "token_burned");
  EXPECT_THAT(five->detail.value_or(""), HasSubstr("nonexistent token"));
  ASSERT_EQ(Token(nft_, "6")->token_uri, "ipfs://bafkreisix");

  notified_.clear();
  ASSERT_OK(chain_->Mint(nft_, dev, "5", "ipfs://bafkreisecond"));
  ASSERT_OK(chain_->Burn(nft_, "6"));
  ASSERT_OK(chain_->Mint(nft_, dev, "6", "ipfs://bafkreisixagain"));
  ASSERT_OK(CatchUp(*indexer));
  five = Token(nft_, "5");
  EXPECT_FALSE(five->burned);
  EXPECT_EQ(five->status, "queued");
  EXPECT_EQ(five->reason, std::nullopt);
  EXPECT_EQ(five->token_uri, "ipfs://bafkreisecond");
  EXPECT_EQ(Token(nft_, "6")->token_uri, "ipfs://bafkreisixagain");
  EXPECT_THAT(notified_, UnorderedElementsAre(Key("5"), Key("6")));

  // ERC-2309: a batch of 3, then one of them burned and minted again with
  // its own URI.
  ASSERT_OK_AND_ASSIGN(std::string raw, chain_->Deploy("DemoRawLogs"));
  const std::string zero = Topic("");
  ASSERT_OK(chain_->ConsecutiveMints(raw, dev, 100, 3, 1));
  ASSERT_OK(CatchUp(*indexer));
  auto uri_of = [&](const std::string& id) {
    std::optional<TokenRow> t = Token(raw, id);
    return t ? t->token_uri.value_or("NULL") : "absent";
  };
  ASSERT_EQ(uri_of("101"), "ipfs://bafkreirawlogs");
  ASSERT_OK(chain_->RawLog(
      raw, {eth::kTransferTopic, Topic(dev), zero, Topic("65")}, ""));
  ASSERT_OK(chain_->SetTokenUri(raw, "101", "ipfs://bafkreiremint"));
  ASSERT_OK(chain_->RawLog(
      raw, {eth::kTransferTopic, zero, Topic(dev), Topic("65")}, ""));
  ASSERT_OK(CatchUp(*indexer));
  EXPECT_EQ(uri_of("101"), "ipfs://bafkreiremint");
  EXPECT_FALSE(Token(raw, "101")->burned);
  EXPECT_EQ(Token(raw, "101")->status, "queued");
  // The others were not minted again: not read again.
  EXPECT_EQ(uri_of("100"), "ipfs://bafkreirawlogs");

  // A replay of it all reads nothing again: every re-mint was read after.
  const std::vector<std::string> before = StateNow();
  const std::string queue_before =
      Dump("SELECT queue, item_id, state, generation FROM work_queue",
           "queue, item_id");
  notified_.clear();
  Sql("UPDATE chains SET next_block = 0 WHERE chain_id = $1",
      static_cast<int64_t>(kChainId));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> replay, NewIndexer());
  ASSERT_OK(CatchUp(*replay));
  EXPECT_EQ(StateNow(), before);
  EXPECT_EQ(Dump("SELECT queue, item_id, state, generation FROM work_queue",
                 "queue, item_id"),
            queue_before);
  EXPECT_THAT(notified_, ElementsAre());
}

// A hostile ERC-2309 collection: 48,000 tokens from one transaction (one
// block over the cap alone, written in parts), then two blocks that fit the
// cap only one at a time (the range is cut short). Every token is recorded,
// and the test's peak RSS grows by the cap's worth, not by the flood's.
TEST_F(IndexerPgTest, ConsecutiveTransferFloodIsIndexedInBoundedParts) {
  const std::string& alice = accounts_[1];
  ASSERT_OK_AND_ASSIGN(std::string raw, chain_->Deploy("DemoRawLogs"));
  ASSERT_OK(chain_->ConsecutiveMints(raw, alice, 1, 1000, 48));
  ASSERT_OK(chain_->ConsecutiveMints(raw, alice, 48001, 500, 4));
  ASSERT_OK(chain_->ConsecutiveMints(raw, alice, 50001, 500, 4));
  ASSERT_OK_AND_ASSIGN(const uint64_t head, chain_->BlockNumber());
  max_transfers_per_range_ = 3000;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());

  // Steps only (the URI reads are not this test's).
  const int64_t rss_before_kb = harness::PeakRssKb();
  uint64_t steps = 0;
  for (; steps < 100; ++steps) {
    ASSERT_OK_AND_ASSIGN(uint64_t blocks, indexer->Step());
    if (blocks == 0) break;
  }
  const int64_t rss_growth_kb = harness::PeakRssKb() - rss_before_kb;
  EXPECT_EQ(NextBlock(), static_cast<int64_t>(head + 1));

  EXPECT_EQ(Count("SELECT count(*) FROM tokens WHERE owner = decode('" + alice +
                  "', 'hex')"),
            52000);
  EXPECT_EQ(Count("SELECT count(*) FROM transfers"), 52000);
  EXPECT_EQ(Count("SELECT max(token_id) FROM tokens"), 52000);
  EXPECT_EQ(Count("SELECT count(*) FROM work_queue"), 52000);
  EXPECT_EQ(Count("SELECT count(*) FROM indexer_errors"), 0);
  // 48,000 transfers held at once take about 100 MB; 3,000 do not.
  std::cout << "peak RSS growth indexing 52,000 ERC-2309 tokens with "
               "--max_transfers_per_range="
            << max_transfers_per_range_ << ": " << rss_growth_kb / 1024
            << " MB\n";
  EXPECT_LT(rss_growth_kb, 32 * 1024);
}

// The URI reader's first step knows nothing of the URIs' size: it leases as
// if each were the longest the source returns (1 MiB), so a 3 MiB budget
// takes 3 tokens, not --uri_batch; the next step grows by what it measured.
TEST_F(IndexerPgTest, UriReaderFirstStepLeasesTheByteBudgetsWorth) {
  std::vector<std::string> ids, uris;
  for (int i = 1; i <= 10; ++i) {
    ids.push_back(std::to_string(i));
    uris.push_back(absl::StrCat("ipfs://bafkreismall/", i));
  }
  ASSERT_OK(chain_->MintBatch(nft_, accounts_[0], ids, uris));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK_AND_ASSIGN(uint64_t blocks, indexer->Step());
    if (blocks == 0) break;
  }
  PgUriReader reader(UriReaderConfig{.chain_id = kChainId,
                                     .batch = 500,
                                     .max_batch_bytes = size_t{3} << 20},
                     *pool_, *source_, "budget-test",
                     [](const std::vector<eth::TokenKey>&) {});
  ASSERT_OK_AND_ASSIGN(size_t first, reader.Step());
  EXPECT_EQ(first, 3u);
  ASSERT_OK_AND_ASSIGN(size_t second, reader.Step());
  EXPECT_EQ(second, 7u);
}

TEST_F(IndexerPgTest, RefreshAndBackfill) {
  const std::string& dev = accounts_[0];
  ASSERT_OK(chain_->Mint(nft_, dev, "1", "ipfs://bafkreione"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  ASSERT_OK(CatchUp(*indexer));
  Sql("DELETE FROM work_queue");
  Sql("DELETE FROM transfers");

  // RefreshToken: the URI is read again and the token queued again.
  ASSERT_OK(chain_->SetTokenUri(nft_, "1", "ipfs://bafkreirefreshed"));
  ASSERT_OK(CatchUp(*indexer));
  ASSERT_OK_AND_ASSIGN(std::vector<eth::TokenKey> queued,
                       indexer->RefreshTokens({Key("1")}));
  EXPECT_THAT(queued, ElementsAre(Key("1")));
  EXPECT_EQ(Token(nft_, "1")->token_uri, "ipfs://bafkreirefreshed");
  EXPECT_THAT(QueuedTokenIds(), ElementsAre("1"));
  EXPECT_EQ(indexer->RefreshTokens({Key("77")}).status().code(),
            absl::StatusCode::kNotFound);

  // Backfill re-reads blocks behind the follower without moving it.
  const int64_t cursor = NextBlock();
  EXPECT_EQ(indexer->Backfill(cursor + 5, cursor + 10).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(auto accepted, indexer->Backfill(0, 1000000));
  EXPECT_EQ(accepted.second, static_cast<uint64_t>(cursor - 1));
  EXPECT_EQ(indexer->Snapshot().backfill_pending_blocks,
            static_cast<uint64_t>(cursor));
  ASSERT_OK(CatchUp(*indexer));
  EXPECT_EQ(Count("SELECT count(*) FROM transfers"), 1);
  EXPECT_EQ(NextBlock(), cursor);
  EXPECT_EQ(indexer->Snapshot().backfill_pending_blocks, 0u);
}

// Indexing that starts after a token's mint (--start_block) records it at
// the first transfer it sees, with its owner, and reads its URI.
TEST_F(IndexerPgTest, TokenMintedBeforeTheStartBlockIsRecordedAtItsTransfer) {
  const std::string& dev = accounts_[0];
  const std::string& alice = accounts_[1];
  ASSERT_OK(chain_->Mint(nft_, dev, "1", "ipfs://bafkreiold"));
  ASSERT_OK(chain_->Mint(nft_, dev, "2", "ipfs://bafkreistill"));
  ASSERT_OK_AND_ASSIGN(uint64_t minted, chain_->BlockNumber());
  ASSERT_OK(chain_->Transfer(nft_, dev, alice, "1"));
  ASSERT_OK_AND_ASSIGN(uint64_t moved, chain_->BlockNumber());
  ASSERT_OK(chain_->Mint(nft_, dev, "3", "ipfs://bafkreinew"));

  start_block_ = minted + 1;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  ASSERT_OK(CatchUp(*indexer));
  std::optional<TokenRow> one = Token(nft_, "1");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->owner, alice);
  EXPECT_EQ(one->mint_block, static_cast<int64_t>(moved));
  EXPECT_EQ(one->token_uri, "ipfs://bafkreiold");
  EXPECT_EQ(one->status, "queued");
  EXPECT_EQ(
      Sql("SELECT minted FROM tokens WHERE token_id = 1")[0][0].as<bool>(),
      false);
  EXPECT_EQ(
      Sql("SELECT minted FROM tokens WHERE token_id = 3")[0][0].as<bool>(),
      true);
  EXPECT_FALSE(Token(nft_, "2").has_value());  // never moved since the start
  EXPECT_THAT(QueuedTokenIds(), UnorderedElementsAre("1", "3"));
}

// The chain's source, with a hook that runs while token URIs are read.
class HookedSource final : public ChainSource {
 public:
  HookedSource(ChainSource& inner, std::function<void()> during_uri_read)
      : inner_(inner), hook_(std::move(during_uri_read)) {}
  absl::StatusOr<uint64_t> HeadBlock() override { return inner_.HeadBlock(); }
  absl::StatusOr<std::vector<eth::RawLog>> Logs(uint64_t from,
                                                uint64_t to) override {
    return inner_.Logs(from, to);
  }
  absl::StatusOr<std::vector<BlockHeader>> BlockHeaders(
      const std::vector<uint64_t>& numbers) override {
    return inner_.BlockHeaders(numbers);
  }
  std::vector<absl::StatusOr<TokenRead>> TokenUris(
      const std::vector<TokenUriQuery>& queries, uint64_t block) override {
    std::vector<absl::StatusOr<TokenRead>> uris =
        inner_.TokenUris(queries, block);
    hook_();
    return uris;
  }
  absl::Status ProbeContracts(std::vector<ContractInfo>& contracts,
                              uint64_t block) override {
    return inner_.ProbeContracts(contracts, block);
  }

 private:
  ChainSource& inner_;
  std::function<void()> hook_;
};

// A rollback while URIs are being read fences that read off: what it read
// (maybe from an orphaned block) is not written; the surviving tokens are
// read again and the vanished one's read is gone.
TEST_F(IndexerPgTest, UriReadInFlightDuringARollbackWritesNothing) {
  const std::string& dev = accounts_[0];
  ASSERT_OK(chain_->Mint(nft_, dev, "1", "ipfs://bafkreione"));
  ASSERT_OK_AND_ASSIGN(uint64_t first, chain_->BlockNumber());
  ASSERT_OK(chain_->Mint(nft_, dev, "2", "ipfs://bafkreitwo"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK_AND_ASSIGN(uint64_t blocks, indexer->Step());
    if (blocks == 0) break;
  }
  ASSERT_EQ(Count("SELECT count(*) FROM work_queue WHERE queue = "
                  "'read_uri:31337'"),
            2);
  std::vector<std::string> stale;
  HookedSource hooked(*source_, [&] {
    // As HandleReorg would: token 2's block is orphaned.
    absl::StatusOr<RollbackResult> r = repo_->Rollback(kChainId, first);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->tokens_removed, 1u);
  });
  PgUriReader reader(UriReaderConfig{.chain_id = kChainId}, *pool_, hooked,
                     "hooked",
                     [&](const std::vector<eth::TokenKey>& keys) {
                       for (const auto& k : keys) stale.push_back(k.token_id);
                     },
                     {.reads = [&](const std::string& outcome, uint64_t n) {
                       if (outcome == "stale") {
                         stale.push_back(absl::StrCat("stale:", n));
                       }
                     }});
  ASSERT_OK_AND_ASSIGN(size_t handled, reader.Step());
  EXPECT_EQ(handled, 2u);
  EXPECT_THAT(stale, ElementsAre("stale:2"));  // nothing written, no hand-off
  EXPECT_FALSE(Token(nft_, "2").has_value());
  ASSERT_TRUE(Token(nft_, "1").has_value());
  EXPECT_EQ(Token(nft_, "1")->token_uri, std::nullopt);
  // Token 1 is still to be read; token 2's read went with it.
  EXPECT_EQ(Count("SELECT count(*) FROM work_queue WHERE queue = "
                  "'read_uri:31337'"),
            1);
  ASSERT_OK(uri_reader_->Drain());
  EXPECT_EQ(Token(nft_, "1")->token_uri, "ipfs://bafkreione");
}

// A node that cannot answer leaves the batch queued, with back-off, and
// writes nothing.
TEST_F(IndexerPgTest, UriReadNodeFailureReschedulesTheBatch) {
  ASSERT_OK(chain_->Mint(nft_, accounts_[0], "1", "ipfs://bafkreione"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK_AND_ASSIGN(uint64_t blocks, indexer->Step());
    if (blocks == 0) break;
  }
  http::HttpClient http{http::HttpClientOptions{}};
  eth::JsonRpcClient dead(
      http,
      eth::JsonRpcOptions{.urls = {"http://127.0.0.1:1"}, .max_attempts = 1});
  RpcChainSource dead_source(dead, RpcChainSource::Options{});
  PgUriReader reader(UriReaderConfig{.chain_id = kChainId}, *pool_, dead_source,
                     "dead", [](const std::vector<eth::TokenKey>&) {});
  absl::StatusOr<size_t> step = reader.Step();
  EXPECT_FALSE(step.ok());
  EXPECT_EQ(Token(nft_, "1")->token_uri, std::nullopt);
  EXPECT_EQ(Token(nft_, "1")->reason, std::nullopt);
  pqxx::result item =
      Sql("SELECT attempts, run_after > now(), last_error FROM work_queue "
          "WHERE queue = 'read_uri:31337'");
  ASSERT_EQ(item.size(), 1u);
  EXPECT_EQ(item[0][0].as<int>(), 1);
  EXPECT_TRUE(item[0][1].as<bool>());  // in back-off
  EXPECT_FALSE(item[0][2].is_null());
  EXPECT_THAT(QueuedTokenIds(), ElementsAre());
}

// Large URIs (a contract decides their length) make the next step lease
// fewer tokens, so a step holds about max_batch_bytes.
TEST_F(IndexerPgTest, UriReadStepsShrinkWhenUrisRunLarge) {
  const std::string big(20000, 'a');
  for (const char* id : {"1", "2"}) {
    ASSERT_OK(chain_->Mint(nft_, accounts_[0], id, "ipfs://" + big + id));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer, NewIndexer());
  auto index = [&] {
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<uint64_t> blocks = indexer->Step();
      ASSERT_TRUE(blocks.ok()) << blocks.status();
      if (*blocks == 0) return;
    }
  };
  index();
  PgUriReader reader(UriReaderConfig{.chain_id = kChainId,
                                     .batch = 100,
                                     .max_batch_bytes = 30000,
                                     .max_uri_bytes = 15000},
                     *pool_, *source_, "small",
                     [](const std::vector<eth::TokenKey>&) {});
  ASSERT_OK_AND_ASSIGN(size_t first, reader.Step());
  EXPECT_EQ(first, 2u);  // nothing known yet: 30 KB of 15 KB URIs
  for (const char* id : {"3", "4", "5"}) {
    ASSERT_OK(chain_->Mint(nft_, accounts_[0], id, "ipfs://" + big + id));
  }
  index();
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(size_t n, reader.Step());
    EXPECT_EQ(n, 1u);  // 20 KB each, 30 KB allowed
  }
  ASSERT_OK_AND_ASSIGN(size_t rest, reader.Step());
  EXPECT_EQ(rest, 0u);
  EXPECT_EQ(Token(nft_, "5")->token_uri, "ipfs://" + big + "5");
}

// --- Replicas ----------------------------------------------------------

// Two replicas of one chain: one follows, the other only works backfill
// chunks; a backfill request is split into chunks both work, and what they
// write together is what one indexer writes.
TEST_F(IndexerPgTest, ReplicasElectOneFollowerAndShareBackfillChunks) {
  const std::string& dev = accounts_[0];
  const std::string& alice = accounts_[1];
  for (int i = 1; i <= 6; ++i) {
    ASSERT_OK(chain_->Mint(nft_, dev, absl::StrCat(i),
                           absl::StrCat("ipfs://bafkrei", i)));
  }
  ASSERT_OK(chain_->Transfer(nft_, dev, alice, "2"));
  ASSERT_OK_AND_ASSIGN(uint64_t head, chain_->BlockNumber());
  const Coordination both{.backfill = backfill_leases_.get(),
                          .follower = follower_lease_.get()};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> a,
                       NewIndexer(0, 2000, 128, 10000, nullptr, both, "a"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> b,
                       NewIndexer(0, 2000, 128, 10000, nullptr, both, "b"));
  ASSERT_OK(CatchUp(*a));
  ASSERT_OK_AND_ASSIGN(uint64_t b_blocks, CatchUp(*b));
  EXPECT_EQ(b_blocks, 0u);  // b does not follow
  EXPECT_TRUE(a->Snapshot().follower);
  EXPECT_FALSE(b->Snapshot().follower);
  EXPECT_EQ(NextBlock(), static_cast<int64_t>(head + 1));
  const std::vector<std::string> indexed = StateNow();

  // Lose the records (not the cursor), then ask b (which does not follow)
  // for a backfill: 3-block chunks, leased by both replicas in turn.
  Sql("DELETE FROM transfers");
  Sql("DELETE FROM work_queue");
  Sql("DELETE FROM tokens");
  ASSERT_OK_AND_ASSIGN(auto accepted, b->Backfill(0, head));
  EXPECT_EQ(accepted.second, head);
  EXPECT_EQ(Count("SELECT count(*) FROM backfill_ranges"),
            static_cast<int64_t>((head + 1 + 2) / 3));
  // Each step indexes one range of a chunk: both replicas get chunks.
  std::map<ChainIndexer*, uint64_t> backfilled;
  for (int i = 0; i < 100 && Count("SELECT count(*) FROM backfill_ranges");
       ++i) {
    for (ChainIndexer* replica : {a.get(), b.get()}) {
      ASSERT_OK_AND_ASSIGN(uint64_t blocks, replica->Step());
      backfilled[replica] += blocks;
    }
  }
  ASSERT_OK(uri_reader_->Drain());
  EXPECT_EQ(Count("SELECT count(*) FROM backfill_ranges"), 0);
  EXPECT_GT(backfilled[a.get()], 0u);
  EXPECT_GT(backfilled[b.get()], 0u);
  EXPECT_EQ(backfilled[a.get()] + backfilled[b.get()], head + 1);
  EXPECT_EQ(NextBlock(), static_cast<int64_t>(head + 1));
  EXPECT_EQ(StateNow(), indexed);
  EXPECT_EQ(a->Snapshot().backfill_pending_blocks, 0u);

  // The follower stops (its lease runs out): b takes over from the cursor.
  ASSERT_OK(chain_->Mint(nft_, dev, "7", "ipfs://bafkrei7"));
  absl::SleepFor(absl::Milliseconds(1500));
  ASSERT_OK(CatchUp(*b));
  EXPECT_TRUE(b->Snapshot().follower);
  EXPECT_EQ(Token(nft_, "7")->token_uri, "ipfs://bafkrei7");
  // a comes back and finds the role taken: it writes nothing.
  ASSERT_OK(chain_->Mint(nft_, dev, "8", "ipfs://bafkrei8"));
  ASSERT_OK_AND_ASSIGN(uint64_t a_blocks, CatchUp(*a));
  EXPECT_EQ(a_blocks, 0u);
  EXPECT_FALSE(a->Snapshot().follower);
  EXPECT_FALSE(Token(nft_, "8").has_value());
}

// A follower whose role moved on while its range was being written does
// not commit that range's cursor.
TEST_F(IndexerPgTest, DeposedFollowerCommitsNoCursor) {
  ASSERT_OK(chain_->Mint(nft_, accounts_[0], "1", "ipfs://bafkreione"));
  const Coordination both{.backfill = backfill_leases_.get(),
                          .follower = follower_lease_.get()};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> a,
                       NewIndexer(0, 2000, 128, 10000, nullptr, both, "a"));
  ASSERT_OK(CatchUp(*a));
  const int64_t cursor = NextBlock();
  ASSERT_OK(chain_->Mint(nft_, accounts_[0], "2", "ipfs://bafkreitwo"));
  // Another replica holds the role now (a's lease ran out meanwhile).
  Sql("UPDATE chain_followers SET holder = 'b', expires_at = now() + "
      "interval '1 hour'");
  absl::StatusOr<uint64_t> step = a->Step();
  ASSERT_OK(step.status());
  EXPECT_EQ(*step, 0u);  // it found out before writing anything
  EXPECT_EQ(NextBlock(), cursor);
  EXPECT_FALSE(a->Snapshot().follower);
}

// --- The writer thread
// --------------------------------------------------------

// The real repository, with `before` run ahead of each range write: a status
// it returns is the write's (nothing written), as a lost connection would be.
class BeforeWrite final : public IndexerRepository {
 public:
  BeforeWrite(IndexerRepository& inner,
              std::function<absl::Status(const RangeBatch&)> before)
      : inner_(inner), before_(std::move(before)) {}

  absl::StatusOr<RangeWritten> RecordRange(const RangeBatch& batch) override {
    if (absl::Status s = before_(batch); !s.ok()) return s;
    return inner_.RecordRange(batch);
  }
  absl::StatusOr<ChainCursor> OpenChain(uint64_t chain_id,
                                        const std::string& name,
                                        uint64_t start_block) override {
    return inner_.OpenChain(chain_id, name, start_block);
  }
  absl::StatusOr<uint64_t> CountTokens(uint64_t chain_id) override {
    return inner_.CountTokens(chain_id);
  }
  absl::StatusOr<std::vector<std::string>> UnknownContracts(
      uint64_t chain_id, const std::vector<std::string>& addresses) override {
    return inner_.UnknownContracts(chain_id, addresses);
  }
  absl::StatusOr<std::vector<KnownToken>> FindTokens(
      const std::vector<eth::TokenKey>& keys) override {
    return inner_.FindTokens(keys);
  }
  absl::StatusOr<std::vector<BlockHeader>> RecentBlocks(
      uint64_t chain_id, uint64_t at_most, uint64_t limit) override {
    return inner_.RecentBlocks(chain_id, at_most, limit);
  }
  absl::StatusOr<std::optional<BlockHeader>> StoredBlock(
      uint64_t chain_id, uint64_t number) override {
    return inner_.StoredBlock(chain_id, number);
  }
  absl::StatusOr<RollbackResult> Rollback(uint64_t chain_id,
                                          uint64_t ancestor) override {
    return inner_.Rollback(chain_id, ancestor);
  }
  absl::Status RecordError(uint64_t chain_id,
                           const IndexerError& error) override {
    return inner_.RecordError(chain_id, error);
  }
  absl::StatusOr<std::vector<eth::TokenKey>> UpdateUris(
      uint64_t chain_id, const std::vector<UriUpdate>& updates) override {
    return inner_.UpdateUris(chain_id, updates);
  }
  absl::StatusOr<RefreshStep> AdvanceRefresh(uint64_t chain_id,
                                             uint64_t chunk) override {
    return inner_.AdvanceRefresh(chain_id, chunk);
  }

 private:
  IndexerRepository& inner_;
  const std::function<absl::Status(const RangeBatch&)> before_;
};

// One block per range, so each range is prepared while the one before it is
// still being written: the next range must see the tokens, contracts and
// block hash of the range in flight, and a write that fails must send the
// follower back to that range with nothing lost or done twice.
TEST_F(IndexerPgTest, WriterThreadRangesBuildOnTheRangeInFlight) {
  const std::string& dev = accounts_[0];
  const std::string& alice = accounts_[1];
  ASSERT_OK_AND_ASSIGN(std::string raw, chain_->Deploy("DemoRawLogs"));
  // Block by block: a mint, its burn, its re-mint and a transfer; ERC-2309
  // tokens 1..2 then an ERC-4906 signal for token 1 in the very next block.
  ASSERT_OK(chain_->Mint(nft_, dev, "7", "ipfs://bafkreiseven"));
  ASSERT_OK(chain_->Burn(nft_, "7"));
  ASSERT_OK(chain_->Mint(nft_, dev, "7", "ipfs://bafkreisevenagain"));
  ASSERT_OK(chain_->Transfer(nft_, dev, alice, "7"));
  ASSERT_OK(chain_->RawLog(
      raw,
      {eth::kConsecutiveTransferTopic, Topic("1"), Topic(""), Topic(alice)},
      Word(2)));
  ASSERT_OK(chain_->RawLog(raw, {eth::kMetadataUpdateTopic}, Word(1)));
  ASSERT_OK_AND_ASSIGN(uint64_t head, chain_->BlockNumber());

  // The first write of a range that moves tokens fails.
  int failed_writes = 0;
  BeforeWrite flaky(*repo_, [&](const RangeBatch& batch) {
    if (failed_writes > 0 || batch.transfers.empty()) return absl::OkStatus();
    ++failed_writes;
    return ErrorWithReason(absl::StatusCode::kUnavailable, "db_unavailable",
                           "injected write failure");
  });
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> indexer,
                       NewIndexer(0, 1, 128, 10000, &flaky));
  std::vector<std::string> failures;
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<uint64_t> step = indexer->Step();
    if (!step.ok()) {
      failures.push_back(ReasonOf(step.status()));
      continue;
    }
    if (*step == 0) break;
  }
  ASSERT_OK(uri_reader_->Drain());
  EXPECT_EQ(failed_writes, 1);
  EXPECT_THAT(failures, ElementsAre("db_unavailable"));  // reported once
  EXPECT_EQ(NextBlock(), static_cast<int64_t>(head + 1));

  // Token 7: one row, alice's again, not burned, with the URI it has now
  // (its re-mint's: URIs are read at the indexed block).
  std::optional<TokenRow> seven = Token(nft_, "7");
  ASSERT_TRUE(seven.has_value());
  EXPECT_EQ(seven->token_uri, "ipfs://bafkreisevenagain");
  EXPECT_EQ(seven->owner, alice);
  EXPECT_FALSE(seven->burned);
  EXPECT_EQ(Count("SELECT count(*) FROM transfers"), 6);
  EXPECT_EQ(Count("SELECT count(*) FROM contracts"), 2);
  // The ERC-4906 signal found token 1 although its mint was still being
  // written (one URI read queued, twice: once read, once queued).
  const eth::TokenKey one{kChainId, raw, "1"}, two{kChainId, raw, "2"};
  EXPECT_THAT(notified_, UnorderedElementsAre(Key("7"), one, two));
  EXPECT_THAT(QueuedTokenIds(), UnorderedElementsAreArray({"7", "1", "2"}));
  EXPECT_EQ(indexer->Snapshot().indexed_block, head);
}

// A follower deposed while its range is being written (the role taken
// over between its step's check and the commit) commits nothing: the write
// checks the role in the transaction that moves the cursor.
TEST_F(IndexerPgTest, FollowerDeposedDuringItsWriteCommitsNoCursor) {
  ASSERT_OK(chain_->Mint(nft_, accounts_[0], "1", "ipfs://bafkreione"));
  const Coordination both{.backfill = backfill_leases_.get(),
                          .follower = follower_lease_.get()};
  bool deposed = false;
  BeforeWrite takeover(*repo_, [&](const RangeBatch& batch) {
    if (!deposed && !batch.transfers.empty()) {
      deposed = true;
      Sql("UPDATE chain_followers SET holder = 'b', expires_at = now() + "
          "interval '1 hour'");
    }
    return absl::OkStatus();
  });
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChainIndexer> a,
                       NewIndexer(0, 2000, 128, 10000, &takeover, both, "a"));
  std::vector<std::string> failures;
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<uint64_t> step = a->Step();
    if (!step.ok()) failures.push_back(ReasonOf(step.status()));
    if (step.ok() && *step == 0) break;
  }
  EXPECT_TRUE(deposed);
  // The write runs on the writer thread. If the next step's lease check
  // sees the takeover before that write is waited for, the write's
  // follower_lost is dropped with it (HoldFollowerRole: what is in flight
  // fails to commit); otherwise the step reports it. Under load either comes
  // first, so both are right; what must hold is that nothing was committed.
  EXPECT_THAT(failures,
              AnyOf(IsEmpty(), ElementsAre(std::string("follower_lost"))));
  EXPECT_FALSE(a->Snapshot().follower);
  EXPECT_EQ(Sql("SELECT next_block FROM chains")[0][0].as<int64_t>(), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM blocks"), 0);
}

}  // namespace
}  // namespace niftysave::indexer
