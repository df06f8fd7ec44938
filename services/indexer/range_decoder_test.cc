// DecodeRange, ExpandTransfers and SummarizeMoves on logs built in memory:
// what a block range of each event kind writes, without a node or a
// database.
#include "services/indexer/range_decoder.h"

#include <string>
#include <vector>

#include "common/eth/events.h"
#include "common/eth/uint256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace niftysave::indexer {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kContract[] = "5fbdb2315678afecb367f032d93f642f64180aa3";
constexpr char kAlice[] = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266";
constexpr char kBob[] = "70997970c51812dc3a010c7d01b50e0d17dc79c8";
const std::string kZero(40, '0');

std::string Word(uint64_t v) { return eth::Uint256(v).ToHex64(); }
std::string AddressTopic(const std::string& a) {
  return "0x" + std::string(24, '0') + a;
}
std::string BlockHash(uint64_t block) {
  std::string h = Word(block);
  h[0] = 'a';  // not all zeros
  return h;
}

// A log of `contract` at (block, index) with these topics and data words.
eth::RawLog Log(uint64_t block, uint32_t index, std::vector<std::string> topics,
                const std::string& data = "",
                const std::string& contract = kContract) {
  char number[32], log_index[32];
  snprintf(number, sizeof(number), "0x%llx",
           static_cast<unsigned long long>(block));
  snprintf(log_index, sizeof(log_index), "0x%x", index);
  return eth::RawLogFromJson({{"address", "0x" + contract},
                              {"blockHash", "0x" + BlockHash(block)},
                              {"transactionHash", "0x" + std::string(64, 'b')},
                              {"blockNumber", number},
                              {"logIndex", log_index},
                              {"data", "0x" + data},
                              {"topics", topics}});
}

eth::RawLog Transfer(uint64_t block, uint32_t index, const std::string& from,
                     const std::string& to, uint64_t id) {
  return Log(block, index,
             {eth::kTransferTopic, AddressTopic(from), AddressTopic(to),
              "0x" + Word(id)});
}

eth::RawLog Consecutive(uint64_t block, uint32_t index, uint64_t from_id,
                        uint64_t to_id) {
  return Log(block, index,
             {eth::kConsecutiveTransferTopic, "0x" + Word(from_id),
              AddressTopic(kZero), AddressTopic(kAlice)},
             Word(to_id));
}

std::vector<eth::TokenTransfer> Expand(DecodedRange& range) {
  std::vector<eth::TokenTransfer> out;
  EXPECT_TRUE(ExpandTransfers(range, [&](eth::TokenTransfer t) {
                out.push_back(std::move(t));
                return absl::OkStatus();
              }).ok());
  return out;
}

std::vector<std::string> Ids(const std::vector<eth::TokenTransfer>& ts) {
  std::vector<std::string> ids;
  for (const auto& t : ts) ids.push_back(t.token_id.ToDecimal());
  return ids;
}

TEST(DecodeRangeTest, Erc721TransfersInChainOrderWithTheirContract) {
  // Out of order as a node might send them, with an ERC-20 Transfer (three
  // topics, amount in data) that is not ours.
  std::vector<eth::RawLog> logs = {
      Transfer(11, 0, kAlice, kBob, 7),
      Log(10, 1,
          {eth::kTransferTopic, AddressTopic(kAlice), AddressTopic(kBob)},
          Word(100)),
      Transfer(10, 3, kZero, kAlice, 7)};
  DecodedRange range = DecodeRange(logs, 10, 12, {});
  EXPECT_EQ(range.to, 12u);
  EXPECT_EQ(range.logs, 2u);
  EXPECT_EQ(range.transfers, 2u);
  EXPECT_THAT(range.malformed, IsEmpty());
  ASSERT_EQ(range.positions.size(), 2u);
  EXPECT_EQ(range.positions[0].block_number, 10u);
  EXPECT_EQ(range.positions[0].block_hash, BlockHash(10));
  ASSERT_EQ(range.contracts.count(kContract), 1u);
  EXPECT_EQ(range.contracts.at(kContract).first_block, 10u);
  EXPECT_EQ(range.contracts.at(kContract).standard,
            eth::TokenStandard::kErc721);

  std::vector<eth::TokenTransfer> moved = Expand(range);
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_TRUE(moved[0].IsMint());
  EXPECT_EQ(moved[0].to, kAlice);
  EXPECT_EQ(moved[1].at.block_number, 11u);
  EXPECT_EQ(moved[1].to, kBob);
  EXPECT_THAT(range.moves, IsEmpty());
}

TEST(DecodeRangeTest, Erc1155SingleAndBatchTransfers) {
  const std::string single = Word(5) + Word(3);  // id 5, amount 3
  // ids [1, 2], amounts [10, 20]: two offsets, then each array.
  const std::string batch = Word(64) + Word(160) + Word(2) + Word(1) + Word(2) +
                            Word(2) + Word(10) + Word(20);
  std::vector<eth::RawLog> logs = {
      Log(20, 0,
          {eth::kTransferSingleTopic, AddressTopic(kAlice), AddressTopic(kZero),
           AddressTopic(kAlice)},
          single),
      Log(20, 1,
          {eth::kTransferBatchTopic, AddressTopic(kAlice), AddressTopic(kAlice),
           AddressTopic(kBob)},
          batch)};
  DecodedRange range = DecodeRange(logs, 20, 20, {});
  EXPECT_EQ(range.logs, 2u);
  EXPECT_EQ(range.transfers, 3u);
  EXPECT_EQ(range.contracts.at(kContract).standard,
            eth::TokenStandard::kErc1155);
  std::vector<eth::TokenTransfer> moved = Expand(range);
  EXPECT_THAT(Ids(moved), ElementsAre("5", "1", "2"));
  for (const auto& t : moved) {
    EXPECT_EQ(t.standard, eth::TokenStandard::kErc1155);
  }
  EXPECT_EQ(moved[0].amount.ToDecimal(), "3");
  EXPECT_TRUE(moved[0].IsMint());
  EXPECT_EQ(moved[1].batch_index, 0u);
  EXPECT_EQ(moved[2].batch_index, 1u);
  EXPECT_EQ(moved[2].amount.ToDecimal(), "20");
  EXPECT_EQ(moved[2].to, kBob);
}

TEST(DecodeRangeTest, Erc2309RangesExpandUpToThePerEventCap) {
  std::vector<eth::RawLog> logs = {Consecutive(30, 0, 1, 3),
                                   Consecutive(30, 1, 100, 199)};
  DecodedRange range = DecodeRange(logs, 30, 30, {.max_tokens_per_event = 5});
  EXPECT_EQ(range.transfers, 3u + 5u);
  ASSERT_EQ(range.errors.size(), 1u);
  EXPECT_EQ(range.errors[0].reason, "range_too_large");
  EXPECT_EQ(range.errors[0].block, 30u);
  EXPECT_EQ(range.errors[0].log_index, 1u);
  EXPECT_EQ(range.errors[0].detail,
            std::string("ConsecutiveTransfer 100..199 of 0x") + kContract +
                ": only the first 5 tokens indexed");
  std::vector<eth::TokenTransfer> moved = Expand(range);
  EXPECT_THAT(Ids(moved),
              ElementsAre("1", "2", "3", "100", "101", "102", "103", "104"));
  EXPECT_EQ(moved[2].batch_index, 2u);
  EXPECT_EQ(moved[3].batch_index, 0u);
  EXPECT_TRUE(moved[0].IsMint());
  EXPECT_EQ(moved[0].to, kAlice);
}

TEST(DecodeRangeTest, Erc2309CapBoundary) {
  // Exactly the cap is whole; one more is capped and recorded.
  DecodedRange whole = DecodeRange({Consecutive(31, 0, 1, 5)}, 31, 31,
                                   {.max_tokens_per_event = 5});
  EXPECT_EQ(whole.transfers, 5u);
  EXPECT_THAT(whole.errors, IsEmpty());
  DecodedRange over = DecodeRange({Consecutive(31, 0, 1, 6)}, 31, 31,
                                  {.max_tokens_per_event = 5});
  EXPECT_EQ(over.transfers, 5u);
  ASSERT_EQ(over.errors.size(), 1u);
  EXPECT_EQ(Expand(over).size(), 5u);
}

TEST(DecodeRangeTest, Erc4906RefreshesAndUriEvents) {
  // URI(string, uint256 indexed id): the ABI string "ipfs://x".
  const std::string uri_data =
      Word(32) + Word(8) + "697066733a2f2f78" + std::string(48, '0');
  std::vector<eth::RawLog> logs = {
      Log(40, 0, {eth::kMetadataUpdateTopic}, Word(9)),
      Log(40, 1, {eth::kBatchMetadataUpdateTopic}, Word(1) + Word(500)),
      Log(41, 0, {eth::kUriTopic, "0x" + Word(4)}, uri_data)};
  DecodedRange range = DecodeRange(logs, 40, 41, {});
  EXPECT_EQ(range.logs, 3u);
  EXPECT_EQ(range.transfers, 0u);
  EXPECT_THAT(range.moves, IsEmpty());
  EXPECT_THAT(range.contracts, IsEmpty());
  ASSERT_EQ(range.refreshes.size(), 2u);
  EXPECT_EQ(range.refreshes[0].from_id.ToDecimal(), "9");
  EXPECT_EQ(range.refreshes[0].to_id.ToDecimal(), "9");
  EXPECT_EQ(range.refreshes[1].from_id.ToDecimal(), "1");
  EXPECT_EQ(range.refreshes[1].to_id.ToDecimal(), "500");
  EXPECT_EQ(range.refreshes[1].log_index, 1u);
  EXPECT_EQ(range.refreshes[1].contract, kContract);
  ASSERT_EQ(range.uri_updates.size(), 1u);
  EXPECT_EQ(range.uri_updates[0].token_id.ToDecimal(), "4");
  EXPECT_EQ(range.uri_updates[0].block, 41u);
  EXPECT_EQ(range.uri_updates[0].uri.token_uri, "ipfs://x");
  EXPECT_EQ(range.positions.size(), 3u);
}

TEST(DecodeRangeTest, MalformedLogsAreListedAndSkipped) {
  std::vector<eth::RawLog> logs = {
      Log(50, 0, {eth::kTransferTopic, AddressTopic(kAlice)}),  // 2 topics
      Consecutive(50, 1, 9, 3),                       // toTokenId < fromTokenId
      Log(50, 2, {eth::kMetadataUpdateTopic}, "zz"),  // not hex
      Log(50, 3, {"0x" + std::string(64, '1')}),      // not ours: ignored
      Transfer(50, 4, kZero, kAlice, 1)};
  DecodedRange range = DecodeRange(logs, 50, 50, {});
  ASSERT_EQ(range.malformed.size(), 3u);
  for (const MalformedLog& bad : range.malformed) {
    EXPECT_EQ(bad.reason, "log_invalid");
    EXPECT_FALSE(bad.error.empty());
  }
  EXPECT_EQ(range.logs, 1u);
  EXPECT_THAT(Ids(Expand(range)), ElementsAre("1"));
}

TEST(DecodeRangeTest, RangeEndsBeforeTheBlockOverTheTransferCap) {
  std::vector<eth::RawLog> logs = {
      Transfer(60, 0, kZero, kAlice, 1), Transfer(60, 1, kZero, kAlice, 2),
      Transfer(61, 0, kZero, kAlice, 3), Transfer(61, 1, kZero, kAlice, 4),
      Transfer(62, 0, kZero, kAlice, 5)};
  DecodedRange range =
      DecodeRange(logs, 60, 70,
                  {.max_transfers_per_range = 3, .target_logs_per_range = 300});
  EXPECT_EQ(range.to, 60u);
  EXPECT_EQ(range.logs, 2u);
  EXPECT_EQ(range.transfers, 2u);
  EXPECT_EQ(range.weight, 200u);  // 2 of 3 transfers: 2/3 of a full range
  EXPECT_EQ(range.positions.size(), 2u);
  EXPECT_THAT(Ids(Expand(range)), ElementsAre("1", "2"));

  // A first block over the cap alone is kept whole (written in parts).
  DecodedRange flood = DecodeRange(
      {Consecutive(60, 0, 1, 10), Transfer(61, 0, kZero, kAlice, 11)}, 60, 70,
      {.max_transfers_per_range = 3});
  EXPECT_EQ(flood.to, 60u);
  EXPECT_EQ(flood.transfers, 10u);
  EXPECT_EQ(Expand(flood).size(), 10u);
}

TEST(DecodeRangeTest, ExpandStopsAtTheFirstFailure) {
  DecodedRange range = DecodeRange({Consecutive(70, 0, 1, 10)}, 70, 70, {});
  int seen = 0;
  absl::Status s = ExpandTransfers(range, [&](eth::TokenTransfer) {
    return ++seen == 4 ? absl::UnavailableError("write failed")
                       : absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(seen, 4);
}

TEST(SummarizeMovesTest, FirstLastAndLastMintOfEachToken) {
  DecodedRange range = DecodeRange(
      {Transfer(80, 0, kZero, kAlice, 1), Transfer(80, 1, kAlice, kZero, 1),
       Transfer(81, 0, kZero, kBob, 1), Transfer(81, 1, kAlice, kBob, 2)},
      80, 81, {});
  const std::vector<eth::TokenTransfer> moved = Expand(range);
  const std::map<TokenIdKey, TokenMoves> tokens = SummarizeMoves(moved);
  ASSERT_EQ(tokens.size(), 2u);
  const TokenMoves& one = tokens.at({kContract, "1"});
  EXPECT_EQ(one.first, &moved[0]);
  EXPECT_EQ(one.last, &moved[2]);
  EXPECT_EQ(one.last_mint, &moved[2]);  // re-minted after its burn
  const TokenMoves& two = tokens.at({kContract, "2"});
  EXPECT_EQ(two.first, &moved[3]);
  EXPECT_EQ(two.last, &moved[3]);
  EXPECT_EQ(two.last_mint, nullptr);
}

}  // namespace
}  // namespace niftysave::indexer
