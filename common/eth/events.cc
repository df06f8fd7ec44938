#include "common/eth/events.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/eth/abi.h"
#include "common/eth/json_rpc_client.h"
#include "common/runtime/reason.h"

namespace niftysave::eth {
namespace {

absl::Status LogInvalid(absl::string_view detail) {
  return ErrorWithReason(absl::StatusCode::kInvalidArgument, "log_invalid",
                         detail);
}

// "0x" + exactly `digits` hex digits → lower-case digits without 0x.
bool HexField(const nlohmann::json& v, size_t digits, std::string* out) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() != digits + 2 || !absl::StartsWith(s, "0x")) return false;
  for (size_t i = 2; i < s.size(); ++i) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  *out = absl::AsciiStrToLower(s.substr(2));
  return true;
}

// An address topic: 32 bytes whose top 12 are zero.
bool AddressTopic(const nlohmann::json& v, std::string* out) {
  std::string word;
  if (!HexField(v, 64, &word) ||
      word.compare(0, 24, std::string(24, '0')) != 0) {
    return false;
  }
  *out = word.substr(24);
  return true;
}

}  // namespace

absl::StatusOr<Erc721Transfer> DecodeErc721Transfer(const nlohmann::json& log) {
  if (!log.is_object()) return LogInvalid("log is not an object");
  auto topics = log.find("topics");
  if (topics == log.end() || !topics->is_array() || topics->empty()) {
    return LogInvalid("log has no topics");
  }
  if ((*topics)[0] != kTransferTopic)
    return absl::NotFoundError("not a Transfer");
  if (topics->size() == 3) return absl::NotFoundError("ERC-20 Transfer");
  if (topics->size() != 4) {
    return LogInvalid(
        absl::StrCat("Transfer with ", topics->size(), " topics"));
  }
  Erc721Transfer t;
  std::string id_hex;
  if (!HexField(log.value("address", nlohmann::json()), 40, &t.contract) ||
      !AddressTopic((*topics)[1], &t.from) ||
      !AddressTopic((*topics)[2], &t.to) ||
      !HexField((*topics)[3], 64, &id_hex) ||
      !HexField(log.value("blockHash", nlohmann::json()), 64,
                &t.at.block_hash) ||
      !HexField(log.value("transactionHash", nlohmann::json()), 64,
                &t.at.tx_hash)) {
    return LogInvalid("Transfer log with a malformed field");
  }
  // ERC-721 Transfer carries no data; something with data is not ERC-721.
  std::string data = log.value("data", std::string("0x"));
  if (data != "0x") return LogInvalid("4-topic Transfer with non-empty data");
  absl::StatusOr<uint64_t> block =
      ParseQuantity(log.value("blockNumber", nlohmann::json()));
  absl::StatusOr<uint64_t> index =
      ParseQuantity(log.value("logIndex", nlohmann::json()));
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
absl::Status ParsePosition(const nlohmann::json& log, std::string* contract,
                           LogPosition* at) {
  if (!HexField(log.value("address", nlohmann::json()), 40, contract) ||
      !HexField(log.value("blockHash", nlohmann::json()), 64,
                &at->block_hash) ||
      !HexField(log.value("transactionHash", nlohmann::json()), 64,
                &at->tx_hash)) {
    return LogInvalid("log with a malformed address or hash");
  }
  absl::StatusOr<uint64_t> block =
      ParseQuantity(log.value("blockNumber", nlohmann::json()));
  absl::StatusOr<uint64_t> index =
      ParseQuantity(log.value("logIndex", nlohmann::json()));
  if (!block.ok() || !index.ok() || *index > UINT32_MAX) {
    return LogInvalid("log with a bad block number or log index");
  }
  at->block_number = *block;
  at->log_index = static_cast<uint32_t>(*index);
  return absl::OkStatus();
}

absl::StatusOr<Uint256> TopicUint(const nlohmann::json& topic) {
  std::string hex;
  if (!HexField(topic, 64, &hex)) return LogInvalid("malformed uint256 topic");
  return *Uint256::FromHex(hex);
}

// The log's data as raw bytes.
absl::StatusOr<std::string> DataBytes(const nlohmann::json& log) {
  const nlohmann::json data = log.value("data", nlohmann::json("0x"));
  if (!data.is_string()) return LogInvalid("log data is not a string");
  absl::StatusOr<std::string> bytes = HexToBytes(data.get<std::string>());
  if (!bytes.ok()) return LogInvalid("log data is not hex");
  return bytes;
}

absl::StatusOr<std::vector<Uint256>> DataWords(const nlohmann::json& log,
                                               size_t words,
                                               absl::string_view what) {
  absl::StatusOr<std::string> bytes = DataBytes(log);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != 32 * words) {
    return LogInvalid(absl::StrCat(what, " with ", bytes->size(),
                                   " bytes of data, not ", 32 * words));
  }
  return *DecodeWords(*bytes);
}

absl::Status TopicCount(const nlohmann::json& topics, size_t want,
                        absl::string_view what) {
  if (topics.size() == want) return absl::OkStatus();
  return LogInvalid(
      absl::StrCat(what, " with ", topics.size(), " topics, not ", want));
}

absl::StatusOr<ChainEvent> DecodeErc1155Transfer(const nlohmann::json& log,
                                                 const nlohmann::json& topics,
                                                 bool batch,
                                                 const DecodeLimits& limits) {
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

absl::StatusOr<ChainEvent> DecodeLog(const nlohmann::json& log,
                                     const DecodeLimits& limits) {
  if (!log.is_object()) return LogInvalid("log is not an object");
  auto topics_it = log.find("topics");
  if (topics_it == log.end() || !topics_it->is_array() || topics_it->empty() ||
      !(*topics_it)[0].is_string()) {
    return LogInvalid("log has no topics");
  }
  const nlohmann::json& topics = *topics_it;
  const std::string topic0 =
      absl::AsciiStrToLower(topics[0].get<std::string>());

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
    return DecodeErc1155Transfer(log, topics, topic0 == kTransferBatchTopic,
                                 limits);
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
    const nlohmann::json data = log.value("data", nlohmann::json("0x"));
    absl::StatusOr<std::string> uri =
        data.is_string()
            ? DecodeAbiString(data.get<std::string>(), limits.max_uri_bytes)
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
