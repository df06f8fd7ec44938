#include <variant>

#include "absl/strings/str_cat.h"
#include "common/eth/abi.h"
#include "common/eth/events.h"
#include "common/eth/json_rpc_client.h"
#include "common/eth/token_key.h"
#include "common/eth/uint256.h"
#include "common/runtime/reason.h"
#include "gtest/gtest.h"

namespace niftysave::eth {
namespace {

constexpr char kMax[] =
    "11579208923731619542357098500868790785326998466564056403945758400791312963"
    "9935";

TEST(Uint256Test, RoundTripsDecimalAndHexAtTheEdges) {
  for (const char* d :
       {"0", "1", "255", "9007199254740993", "18446744073709551616", kMax}) {
    auto v = Uint256::FromDecimal(d);
    ASSERT_TRUE(v.ok()) << d;
    EXPECT_EQ(v->ToDecimal(), d);
    auto back = Uint256::FromHex(v->ToHex64());
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, *v);
  }
  EXPECT_EQ(Uint256::FromDecimal(kMax)->ToHex64(), std::string(64, 'f'));
  EXPECT_EQ(Uint256::FromHex("0xff")->ToDecimal(), "255");
  EXPECT_EQ(Uint256(255).ToHex64(), std::string(62, '0') + "ff");
}

TEST(Uint256Test, RefusesOverflowAndGarbage) {
  EXPECT_FALSE(Uint256::FromDecimal("115792089237316195423570985008687907853269"
                                    "984665640564039457584007913129639936")
                   .ok());
  EXPECT_FALSE(Uint256::FromDecimal("").ok());
  EXPECT_FALSE(Uint256::FromDecimal("12a").ok());
  EXPECT_FALSE(Uint256::FromDecimal("-1").ok());
  EXPECT_FALSE(Uint256::FromHex("0x" + std::string(65, '1')).ok());
  EXPECT_FALSE(Uint256::FromHex("0xzz").ok());
}

std::string AbiString(const std::string& s) {
  std::string hex = "0x" + Uint256(32).ToHex64() + Uint256(s.size()).ToHex64();
  std::string body = BytesToHex(s);
  body.append((64 - body.size() % 64) % 64, '0');
  return hex + body;
}

TEST(AbiTest, DecodesStringsAndRefusesBadOnes) {
  EXPECT_EQ(*DecodeAbiString(AbiString("ipfs://bafy/1.json"), 1000),
            "ipfs://bafy/1.json");
  EXPECT_EQ(*DecodeAbiString(AbiString(""), 1000), "");
  EXPECT_EQ(ReasonOf(DecodeAbiString(AbiString("toolong"), 3).status()),
            "too_large");
  EXPECT_EQ(ReasonOf(DecodeAbiString(AbiString("\xff\xfe"), 100).status()),
            "not_utf8");
  EXPECT_EQ(ReasonOf(DecodeAbiString("0x", 100).status()), "empty_return");
  // Length says 100 bytes but only 32 follow.
  std::string truncated = "0x" + Uint256(32).ToHex64() +
                          Uint256(100).ToHex64() + std::string(64, '0');
  EXPECT_EQ(ReasonOf(DecodeAbiString(truncated, 1000).status()), "abi_invalid");
  // Offset pointing past the end.
  EXPECT_EQ(
      ReasonOf(DecodeAbiString("0x" + Uint256(4096).ToHex64(), 1000).status()),
      "abi_invalid");
  EXPECT_EQ(EncodeCallUint256(kTokenUriSelector, Uint256(1)),
            "0xc87b56dd" + std::string(63, '0') + "1");
}

nlohmann::json TransferLog(int topics) {
  nlohmann::json log = {
      {"address", "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
      {"blockHash", "0x" + std::string(64, 'a')},
      {"transactionHash", "0x" + std::string(64, 'b')},
      {"blockNumber", "0x10"},
      {"logIndex", "0x2"},
      {"data", "0x"},
      {"topics",
       {kTransferTopic, "0x" + std::string(64, '0'),
        "0x000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        "0x" + std::string(64, 'f')}}};
  log["topics"].erase(log["topics"].begin() + topics, log["topics"].end());
  return log;
}

TEST(EventsTest, DecodesErc721MintAndTellsErc20Apart) {
  auto t = DecodeErc721Transfer(TransferLog(4));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->IsMint());
  EXPECT_EQ(t->contract, "5fbdb2315678afecb367f032d93f642f64180aa3");
  EXPECT_EQ(t->to, "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
  EXPECT_EQ(t->token_id.ToDecimal(), kMax);
  EXPECT_EQ(t->at.block_number, 16u);
  EXPECT_EQ(t->at.log_index, 2u);
  EXPECT_EQ(DecodeErc721Transfer(TransferLog(3)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(DecodeErc721Transfer(TransferLog(2)).status()),
            "log_invalid");
  auto bad_addr = TransferLog(4);
  bad_addr["topics"][2] =
      "0x" + std::string(64, '1');  // high bytes set: not an address
  EXPECT_EQ(ReasonOf(DecodeErc721Transfer(bad_addr).status()), "log_invalid");
  auto with_data = TransferLog(4);
  with_data["data"] = "0x01";
  EXPECT_EQ(ReasonOf(DecodeErc721Transfer(with_data).status()), "log_invalid");
  EXPECT_EQ(ReasonOf(DecodeErc721Transfer(nlohmann::json::array()).status()),
            "log_invalid");
}

// The simdjson reading of a reply body gives each log exactly what the JSON
// document path gives: the same events, the same refusals.
TEST(EventsTest, LogsReplyReadsLikeTheJsonDocument) {
  nlohmann::json logs = nlohmann::json::array();
  logs.push_back(TransferLog(4));
  logs.push_back(TransferLog(3));  // ERC-20: not ours
  logs.push_back(TransferLog(2));  // malformed
  nlohmann::json no_address = TransferLog(4);
  no_address.erase("address");
  logs.push_back(no_address);
  nlohmann::json numeric_block = TransferLog(4);
  numeric_block["blockNumber"] = 16;  // a number, not a quantity string
  logs.push_back(numeric_block);
  nlohmann::json data_number = TransferLog(4);
  data_number["data"] = 5;
  logs.push_back(data_number);
  nlohmann::json no_data = TransferLog(4);
  no_data.erase("data");  // none is "0x"
  logs.push_back(no_data);
  nlohmann::json topic_number = TransferLog(4);
  topic_number["topics"][1] = 7;
  logs.push_back(topic_number);
  logs.push_back("not an object");
  nlohmann::json unicode = TransferLog(4);
  unicode["address"] = "0x\u0041";  // escaped text is unescaped, then refused
  logs.push_back(unicode);
  const std::string body =
      nlohmann::json{{"jsonrpc", "2.0"}, {"id", 7}, {"result", logs}}.dump();

  absl::StatusOr<std::vector<RawLog>> raw = ParseLogsReply(body, 7, 100);
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_EQ(raw->size(), logs.size());
  for (size_t i = 0; i < logs.size(); ++i) {
    absl::StatusOr<ChainEvent> from_doc = DecodeLog(logs[i]);
    absl::StatusOr<ChainEvent> from_raw = DecodeLog((*raw)[i]);
    ASSERT_EQ(from_doc.status(), from_raw.status()) << "log " << i;
    if (!from_doc.ok()) continue;
    const auto& a = std::get<std::vector<TokenTransfer>>(*from_doc);
    const auto& b = std::get<std::vector<TokenTransfer>>(*from_raw);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(a[0].contract, b[0].contract);
    EXPECT_EQ(a[0].to, b[0].to);
    EXPECT_EQ(a[0].token_id.ToDecimal(), b[0].token_id.ToDecimal());
    EXPECT_EQ(a[0].at.block_number, b[0].at.block_number);
  }
  EXPECT_TRUE(DecodeLog((*raw)[0]).ok());
  EXPECT_EQ(DecodeLog((*raw)[1]).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReasonOf(DecodeLog((*raw)[2]).status()), "log_invalid");
  EXPECT_TRUE(DecodeLog((*raw)[6]).ok());
}

// A key given twice counts once, the last time, as nlohmann reads it (found
// by fuzz/logs_reply_fuzzer: the topics of both were appended).
TEST(EventsTest, LogsReplyKeepsTheLastOfADuplicatedKey) {
  std::string log = TransferLog(4).dump();
  log.insert(1, R"("topics":["0x1234"],"data":5,)");
  const std::string body =
      absl::StrCat(R"({"jsonrpc":"2.0","id":1,"result":[)", log, "]}");
  absl::StatusOr<std::vector<RawLog>> raw = ParseLogsReply(body, 1, 10);
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_EQ(raw->size(), 1u);
  EXPECT_EQ((*raw)[0].topics.size(), 4u);
  EXPECT_TRUE(DecodeLog((*raw)[0]).ok());
  EXPECT_TRUE(DecodeLog(nlohmann::json::parse(log)).ok());
}

TEST(EventsTest, LogsReplyRefusesBadReplies) {
  const std::string ok = R"({"jsonrpc":"2.0","id":3,"result":[]})";
  ASSERT_TRUE(ParseLogsReply(ok, 3, 10).ok());
  EXPECT_EQ(ReasonOf(ParseLogsReply(ok, 4, 10).status()), "rpc_invalid");
  EXPECT_EQ(
      ReasonOf(
          ParseLogsReply(R"({"jsonrpc":"2.0","id":3,"res)", 3, 10).status()),
      "rpc_invalid");
  EXPECT_EQ(ReasonOf(ParseLogsReply("<html>busy</html>", 3, 10).status()),
            "rpc_invalid");
  EXPECT_EQ(ReasonOf(ParseLogsReply(R"({"id":3,"result":{}})", 3, 10).status()),
            "rpc_invalid");
  EXPECT_EQ(ReasonOf(ParseLogsReply(R"({"id":3})", 3, 10).status()),
            "rpc_invalid");
  absl::Status error =
      ParseLogsReply(
          R"({"id":3,"error":{"code":-32005,"message":"query returned more than 10000 results"}})",
          3, 10)
          .status();
  EXPECT_EQ(ReasonOf(error), "rpc_error");
  EXPECT_NE(std::string(error.message()).find("more than 10000"),
            std::string::npos);
  EXPECT_EQ(
      ReasonOf(ParseLogsReply(R"({"id":3,"error":"down"})", 3, 10).status()),
      "rpc_error");
  EXPECT_EQ(
      ReasonOf(ParseLogsReply(R"({"id":3,"result":[1,2,3]})", 3, 2).status()),
      "too_many_logs");
}

TEST(JsonRpcTest, ParsesQuantities) {
  EXPECT_EQ(*ParseQuantity("0x0"), 0u);
  EXPECT_EQ(*ParseQuantity("0xff"), 255u);
  EXPECT_FALSE(ParseQuantity("ff").ok());
  EXPECT_FALSE(ParseQuantity(12).ok());
  EXPECT_FALSE(ParseQuantity("0x").ok());
  EXPECT_EQ(ToQuantity(255), "0xff");
}

}  // namespace
}  // namespace niftysave::eth

namespace niftysave::eth {
namespace {

TEST(TokenKeyTest, CanonicalisesAndValidates) {
  auto key =
      ParseTokenKey(1, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "007");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->contract, "5fbdb2315678afecb367f032d93f642f64180aa3");
  EXPECT_EQ(key->token_id, "7");
  EXPECT_FALSE(
      ParseTokenKey(0, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "1").ok());
  EXPECT_FALSE(
      ParseTokenKey(1, "5FbDB2315678afecb367f032d93F642f64180aa3", "1").ok());
  EXPECT_FALSE(
      ParseTokenKey(1, "0x5FbDB2315678afecb367f032d93F642f64180aaz", "1").ok());
  EXPECT_FALSE(
      ParseTokenKey(1, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "0x1")
          .ok());
  EXPECT_FALSE(
      ParseTokenKey(1, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "").ok());
}

}  // namespace
}  // namespace niftysave::eth
