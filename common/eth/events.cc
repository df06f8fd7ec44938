#include "common/eth/events.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

}  // namespace niftysave::eth
