#include "common/eth/events.h"

#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/eth/abi.h"
#include "common/eth/json_rpc_client.h"
#include "common/runtime/reason.h"
#include "simdjson.h"

namespace niftysave::eth {
namespace {

absl::Status LogInvalid(absl::string_view detail) {
  return ErrorWithReason(absl::StatusCode::kInvalidArgument, "log_invalid",
                         detail);
}

// "0x" + exactly `digits` hex digits → lower-case digits without 0x.
bool HexField(const std::optional<std::string>& v, size_t digits,
              std::string* out) {
  if (!v) return false;
  const std::string& s = *v;
  if (s.size() != digits + 2 || !absl::StartsWith(s, "0x")) return false;
  for (size_t i = 2; i < s.size(); ++i) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  *out = absl::AsciiStrToLower(absl::string_view(s).substr(2));
  return true;
}

// An address topic: 32 bytes whose top 12 are zero.
bool AddressTopic(const std::optional<std::string>& v, std::string* out) {
  std::string word;
  if (!HexField(v, 64, &word) ||
      word.compare(0, 24, std::string(24, '0')) != 0) {
    return false;
  }
  *out = word.substr(24);
  return true;
}

absl::StatusOr<uint64_t> Quantity(const std::optional<std::string>& v) {
  if (!v) return LogInvalid("quantity is not a string");
  return ParseQuantityText(*v);
}

// The log's data as hex text ("0x" when it has none).
absl::StatusOr<std::string> DataHex(const RawLog& log) {
  if (!log.data_is_string) return LogInvalid("log data is not a string");
  return log.data ? *log.data : std::string("0x");
}

std::optional<std::string> JsonText(const nlohmann::json& v) {
  if (!v.is_string()) return std::nullopt;
  return v.get<std::string>();
}

}  // namespace

RawLog RawLogFromJson(const nlohmann::json& log) {
  RawLog r;
  if (!log.is_object()) {
    r.is_object = false;
    return r;
  }
  auto field = [&](const char* key) -> std::optional<std::string> {
    auto it = log.find(key);
    return it == log.end() ? std::nullopt : JsonText(*it);
  };
  r.address = field("address");
  r.block_hash = field("blockHash");
  r.tx_hash = field("transactionHash");
  r.block_number = field("blockNumber");
  r.log_index = field("logIndex");
  if (auto it = log.find("data"); it != log.end()) {
    r.data = JsonText(*it);
    r.data_is_string = it->is_string();
  }
  if (auto it = log.find("topics"); it != log.end() && it->is_array()) {
    r.topics_is_array = true;
    for (const nlohmann::json& t : *it) r.topics.push_back(JsonText(t));
  }
  return r;
}

absl::StatusOr<std::vector<RawLog>> ParseLogsReply(const std::string& body,
                                                   int64_t id,
                                                   size_t max_logs) {
  auto invalid = [](absl::string_view detail) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "rpc_invalid",
                           detail);
  };
  // One parser per thread: its buffers are reused from page to page.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) {
    return invalid("reply is not JSON");
  }
  simdjson::dom::object reply;
  if (doc.get_object().get(reply) != simdjson::SUCCESS) {
    return invalid("reply is not a JSON object");
  }
  simdjson::dom::element reply_id;
  if (reply["id"].get(reply_id) == simdjson::SUCCESS && !reply_id.is_null()) {
    int64_t got = 0;
    if (reply_id.get_int64().get(got) != simdjson::SUCCESS || got != id) {
      return invalid("reply carries another call's id");
    }
  }
  simdjson::dom::element error;
  if (reply["error"].get(error) == simdjson::SUCCESS && !error.is_null()) {
    std::string_view message;
    if (!error.is_object() ||
        error["message"].get_string().get(message) != simdjson::SUCCESS) {
      return RpcErrorStatus(simdjson::minify(error));
    }
    return RpcErrorStatus(std::string(message));
  }
  simdjson::dom::element result;
  if (reply["result"].get(result) != simdjson::SUCCESS) {
    return invalid("reply has no result");
  }
  simdjson::dom::array entries;
  if (result.get_array().get(entries) != simdjson::SUCCESS) {
    return invalid("eth_getLogs result is not an array");
  }
  const size_t count = entries.size();
  if (count > max_logs) {
    return ErrorWithReason(absl::StatusCode::kResourceExhausted,
                           "too_many_logs",
                           absl::StrCat(count, " logs in one range"));
  }
  std::vector<RawLog> out;
  out.reserve(count);
  for (simdjson::dom::element entry : entries) {
    RawLog& r = out.emplace_back();
    simdjson::dom::object log;
    if (entry.get_object().get(log) != simdjson::SUCCESS) {
      r.is_object = false;
      continue;
    }
    auto text = [](simdjson::dom::element v) -> std::optional<std::string> {
      std::string_view s;
      if (v.get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
      return std::string(s);
    };
    for (auto [key, value] : log) {
      if (key == "address") {
        r.address = text(value);
      } else if (key == "blockHash") {
        r.block_hash = text(value);
      } else if (key == "transactionHash") {
        r.tx_hash = text(value);
      } else if (key == "blockNumber") {
        r.block_number = text(value);
      } else if (key == "logIndex") {
        r.log_index = text(value);
      } else if (key == "data") {
        r.data = text(value);
        r.data_is_string = value.is_string();
      } else if (key == "topics") {
        // A key given twice: the last one counts, as in a JSON document.
        r.topics.clear();
        r.topics_is_array = false;
        simdjson::dom::array topics;
        if (value.get_array().get(topics) != simdjson::SUCCESS) continue;
        r.topics_is_array = true;
        for (simdjson::dom::element t : topics) r.topics.push_back(text(t));
      }
    }
  }
  return out;
}

absl::StatusOr<Erc721Transfer> DecodeErc721Transfer(const RawLog& log) {
  if (!log.is_object) return LogInvalid("log is not an object");
  if (!log.topics_is_array || log.topics.empty()) {
    return LogInvalid("log has no topics");
  }
  const std::vector<std::optional<std::string>>& topics = log.topics;
  if (topics[0] != std::optional<std::string>(kTransferTopic)) {
    return absl::NotFoundError("not a Transfer");
  }
  if (topics.size() == 3) return absl::NotFoundError("ERC-20 Transfer");
  if (topics.size() != 4) {
    return LogInvalid(absl::StrCat("Transfer with ", topics.size(), " topics"));
  }
  Erc721Transfer t;
  std::string id_hex;
  if (!HexField(log.address, 40, &t.contract) ||
      !AddressTopic(topics[1], &t.from) || !AddressTopic(topics[2], &t.to) ||
      !HexField(topics[3], 64, &id_hex) ||
      !HexField(log.block_hash, 64, &t.at.block_hash) ||
      !HexField(log.tx_hash, 64, &t.at.tx_hash)) {
    return LogInvalid("Transfer log with a malformed field");
  }
  // ERC-721 Transfer carries no data; something with data is not ERC-721.
  if (!log.data_is_string || (log.data && *log.data != "0x")) {
    return LogInvalid("4-topic Transfer with non-empty data");
  }
  absl::StatusOr<uint64_t> block = Quantity(log.block_number);
  absl::StatusOr<uint64_t> index = Quantity(log.log_index);
  if (!block.ok() || !index.ok() || *index > UINT32_MAX) {
    return LogInvalid("Transfer log with a bad block number or log index");
  }
  t.at.block_number = *block;
  t.at.log_index = static_cast<uint32_t>(*index);
  absl::StatusOr<Uint256> id = Uint256::FromHex(id_hex);
  if (!id.ok()) return LogInvalid(id.status().message());
  t.token_id = *id;
  return t;
}

namespace {

// Contract, block, log index and hashes shared by every event.
absl::Status ParsePosition(const RawLog& log, std::string* contract,
                           LogPosition* at) {
  if (!HexField(log.address, 40, contract) ||
      !HexField(log.block_hash, 64, &at->block_hash) ||
      !HexField(log.tx_hash, 64, &at->tx_hash)) {
    return LogInvalid("log with a malformed address or hash");
  }
  absl::StatusOr<uint64_t> block = Quantity(log.block_number);
  absl::StatusOr<uint64_t> index = Quantity(log.log_index);
  if (!block.ok() || !index.ok() || *index > UINT32_MAX) {
    return LogInvalid("log with a bad block number or log index");
  }
  at->block_number = *block;
  at->log_index = static_cast<uint32_t>(*index);
  return absl::OkStatus();
}

absl::StatusOr<Uint256> TopicUint(const std::optional<std::string>& topic) {
  std::string hex;
  if (!HexField(topic, 64, &hex)) return LogInvalid("malformed uint256 topic");
  return *Uint256::FromHex(hex);
}

// The log's data as raw bytes.
absl::StatusOr<std::string> DataBytes(const RawLog& log) {
  absl::StatusOr<std::string> hex = DataHex(log);
  if (!hex.ok()) return hex.status();
  absl::StatusOr<std::string> bytes = HexToBytes(*hex);
  if (!bytes.ok()) return LogInvalid("log data is not hex");
  return bytes;
}

absl::StatusOr<std::vector<Uint256>> DataWords(const RawLog& log, size_t words,
                                               absl::string_view what) {
  absl::StatusOr<std::string> bytes = DataBytes(log);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != 32 * words) {
    return LogInvalid(absl::StrCat(what, " with ", bytes->size(),
                                   " bytes of data, not ", 32 * words));
  }
  return *DecodeWords(*bytes);
}

absl::Status TopicCount(const std::vector<std::optional<std::string>>& topics,
                        size_t want, absl::string_view what) {
  if (topics.size() == want) return absl::OkStatus();
  return LogInvalid(
      absl::StrCat(what, " with ", topics.size(), " topics, not ", want));
}

absl::StatusOr<ChainEvent> DecodeErc1155Transfer(const RawLog& log, bool batch,
                                                 const DecodeLimits& limits) {
  const std::vector<std::optional<std::string>>& topics = log.topics;
  const char* what = batch ? "TransferBatch" : "TransferSingle";
  if (absl::Status s = TopicCount(topics, 4, what); !s.ok()) return s;
  TokenTransfer base;
  base.standard = TokenStandard::kErc1155;
  std::string operator_address;
  if (absl::Status s = ParsePosition(log, &base.contract, &base.at); !s.ok()) {
    return s;
  }
  if (!AddressTopic(topics[1], &operator_address) ||
      !AddressTopic(topics[2], &base.from) ||
      !AddressTopic(topics[3], &base.to)) {
    return LogInvalid(absl::StrCat(what, " with a malformed address topic"));
  }
  std::vector<TokenTransfer> out;
  if (!batch) {
    absl::StatusOr<std::vector<Uint256>> words = DataWords(log, 2, what);
    if (!words.ok()) return words.status();
    base.token_id = (*words)[0];
    base.amount = (*words)[1];
    out.push_back(base);
    return out;
  }
  absl::StatusOr<std::string> bytes = DataBytes(log);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<Uint256ArrayPair> arrays =
      DecodeUint256ArrayPair(*bytes, limits.max_batch_ids);
  if (!arrays.ok()) {
    return LogInvalid(
        absl::StrCat("TransferBatch data: ", arrays.status().message()));
  }
  out.reserve(arrays->first.size());
  for (size_t i = 0; i < arrays->first.size(); ++i) {
    TokenTransfer t = base;
    t.batch_index = static_cast<uint32_t>(i);
    t.token_id = arrays->first[i];
    t.amount = arrays->second[i];
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

const char* StandardName(TokenStandard standard) {
  return standard == TokenStandard::kErc1155 ? "erc1155" : "erc721";
}

std::vector<std::string> IndexedTopics() {
  return {kTransferTopic,
          kTransferSingleTopic,
          kTransferBatchTopic,
          kUriTopic,
          kConsecutiveTransferTopic,
          kMetadataUpdateTopic,
          kBatchMetadataUpdateTopic};
}

absl::StatusOr<ChainEvent> DecodeLog(const RawLog& log,
                                     const DecodeLimits& limits) {
  if (!log.is_object) return LogInvalid("log is not an object");
  if (!log.topics_is_array || log.topics.empty() || !log.topics[0]) {
    return LogInvalid("log has no topics");
  }
  const std::vector<std::optional<std::string>>& topics = log.topics;
  const std::string topic0 = absl::AsciiStrToLower(*topics[0]);

  if (topic0 == kTransferTopic) {
    absl::StatusOr<Erc721Transfer> t = DecodeErc721Transfer(log);
    if (!t.ok()) return t.status();
    TokenTransfer out{.at = t->at,
                      .contract = t->contract,
                      .from = t->from,
                      .to = t->to,
                      .token_id = t->token_id};
    return std::vector<TokenTransfer>{std::move(out)};
  }
  if (topic0 == kTransferSingleTopic || topic0 == kTransferBatchTopic) {
    return DecodeErc1155Transfer(log, topic0 == kTransferBatchTopic, limits);
  }
  if (topic0 == kUriTopic) {
    if (absl::Status s = TopicCount(topics, 2, "URI"); !s.ok()) return s;
    UriChanged e;
    if (absl::Status s = ParsePosition(log, &e.contract, &e.at); !s.ok()) {
      return s;
    }
    absl::StatusOr<Uint256> id = TopicUint(topics[1]);
    if (!id.ok()) return id.status();
    e.token_id = *id;
    absl::StatusOr<std::string> data = DataHex(log);
    absl::StatusOr<std::string> uri =
        data.ok() ? DecodeAbiString(*data, limits.max_uri_bytes)
                  : absl::InvalidArgumentError("data is not a string");
    if (!uri.ok()) {
      return LogInvalid(absl::StrCat("URI event data (", ReasonOf(uri.status()),
                                     "): ", uri.status().message()));
    }
    e.uri = *std::move(uri);
    return e;
  }
  if (topic0 == kConsecutiveTransferTopic) {
    if (absl::Status s = TopicCount(topics, 4, "ConsecutiveTransfer");
        !s.ok()) {
      return s;
    }
    ConsecutiveTransfer e;
    if (absl::Status s = ParsePosition(log, &e.contract, &e.at); !s.ok()) {
      return s;
    }
    absl::StatusOr<Uint256> from_id = TopicUint(topics[1]);
    if (!from_id.ok()) return from_id.status();
    if (!AddressTopic(topics[2], &e.from) || !AddressTopic(topics[3], &e.to)) {
      return LogInvalid("ConsecutiveTransfer with a malformed address topic");
    }
    absl::StatusOr<std::vector<Uint256>> words =
        DataWords(log, 1, "ConsecutiveTransfer");
    if (!words.ok()) return words.status();
    e.from_id = *from_id;
    e.to_id = (*words)[0];
    if (e.to_id < e.from_id) {
      return LogInvalid("ConsecutiveTransfer with toTokenId < fromTokenId");
    }
    return e;
  }
  if (topic0 == kMetadataUpdateTopic || topic0 == kBatchMetadataUpdateTopic) {
    const bool batch = topic0 == kBatchMetadataUpdateTopic;
    const char* what = batch ? "BatchMetadataUpdate" : "MetadataUpdate";
    if (absl::Status s = TopicCount(topics, 1, what); !s.ok()) return s;
    MetadataUpdate e;
    if (absl::Status s = ParsePosition(log, &e.contract, &e.at); !s.ok()) {
      return s;
    }
    absl::StatusOr<std::vector<Uint256>> words =
        DataWords(log, batch ? 2 : 1, what);
    if (!words.ok()) return words.status();
    e.from_id = (*words)[0];
    e.to_id = batch ? (*words)[1] : (*words)[0];
    if (e.to_id < e.from_id) {
      return LogInvalid("BatchMetadataUpdate with toTokenId < fromTokenId");
    }
    return e;
  }
  return absl::NotFoundError("not an event the indexer follows");
}

}  // namespace niftysave::eth
