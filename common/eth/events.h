#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eth/uint256.h"
#include "nlohmann/json.hpp"

namespace niftysave::eth {

// topic0 of Transfer(address,address,uint256), shared by ERC-20 and ERC-721.
inline constexpr char kTransferTopic[] =
    "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

// ERC-1155 (DESIGN.md, checked).
inline constexpr char kTransferSingleTopic[] =
    "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62";
inline constexpr char kTransferBatchTopic[] =
    "0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb";
inline constexpr char kUriTopic[] =
    "0x6bb7ff708619ba0610cba295a58592e0451dee2622938c8755667688daf3529b";
// ERC-2309 ranged mints and ERC-4906 metadata refresh signals.
inline constexpr char kConsecutiveTransferTopic[] =
    "0xdeaa91b6123d068f5821d0fb0678463d1a8a6079fe8af5de3ce5e896dcf9133d";
inline constexpr char kMetadataUpdateTopic[] =
    "0xf8e1a15aba9398e019f0b49df1a4fde98ee17ae345cb5f6b5e2c27f5033e8ce7";
inline constexpr char kBatchMetadataUpdateTopic[] =
    "0x6bd5c950a8d8df17f772f5af37cb3655737899cbf903264b9795592da439661c";

// Every topic0 DecodeLog understands, for an eth_getLogs filter.
std::vector<std::string> IndexedTopics();

// Where a log sits on the chain. Hashes and addresses are 0x-less lower hex.
struct LogPosition {
  uint64_t block_number = 0;
  std::string block_hash;
  std::string tx_hash;
  uint32_t log_index = 0;
};

struct Erc721Transfer {
  LogPosition at;
  std::string contract;  // 40 hex digits
  std::string from;
  std::string to;
  Uint256 token_id;
  bool IsMint() const { return from == std::string(40, '0'); }
};

// One eth_getLogs entry as the node sent it, before any check (DecodeLog
// makes them): each field's text, or nullopt when it was missing or not a
// JSON string. Read straight from the reply body (ParseLogsReply) without a
// JSON document per log, or from one (RawLogFromJson).
struct RawLog {
  bool is_object = true;
  std::optional<std::string> address, block_hash, tx_hash, block_number,
      log_index;
  // nullopt: no data field ("0x"); data_is_string false: not a string.
  std::optional<std::string> data;
  bool data_is_string = true;
  bool topics_is_array = false;
  std::vector<std::optional<std::string>> topics;
};
RawLog RawLogFromJson(const nlohmann::json& log);

// The logs of an eth_getLogs reply body (one JSON-RPC response with this
// `id`), read with simdjson: far faster than a JSON document per log, which
// matters at 10,000 logs a page. Non-JSON or mismatched bodies are reason
// rpc_invalid; a JSON-RPC error object is returned as JsonRpcClient maps
// it; more than `max_logs` entries is reason too_many_logs.
absl::StatusOr<std::vector<RawLog>> ParseLogsReply(const std::string& body,
                                                   int64_t id, size_t max_logs);

// Decodes an eth_getLogs entry as an ERC-721 Transfer. An ERC-20 Transfer
// (3 topics, amount in data) is NotFound — not ours, not an error; any other
// malformed log is InvalidArgument with reason `log_invalid`.
absl::StatusOr<Erc721Transfer> DecodeErc721Transfer(const RawLog& log);
inline absl::StatusOr<Erc721Transfer> DecodeErc721Transfer(
    const nlohmann::json& log) {
  return DecodeErc721Transfer(RawLogFromJson(log));
}

enum class TokenStandard { kErc721, kErc1155 };
const char* StandardName(TokenStandard standard);  // "erc721", "erc1155"

// One token moving: an ERC-721 Transfer, one entry of an ERC-1155
// TransferSingle/TransferBatch, or one token of an ERC-2309 range.
// `batch_index` tells apart the tokens one log moves.
struct TokenTransfer {
  LogPosition at;
  uint32_t batch_index = 0;
  TokenStandard standard = TokenStandard::kErc721;
  std::string contract;
  std::string from;
  std::string to;
  Uint256 token_id;
  Uint256 amount{1};
  bool IsMint() const { return from == std::string(40, '0'); }
};

// ERC-1155 URI(string value, uint256 indexed id).
struct UriChanged {
  LogPosition at;
  std::string contract;
  Uint256 token_id;
  std::string uri;
};

// ERC-2309 ConsecutiveTransfer: tokens from_id..to_id (inclusive) move.
struct ConsecutiveTransfer {
  LogPosition at;
  std::string contract;
  std::string from;
  std::string to;
  Uint256 from_id;
  Uint256 to_id;
};

// ERC-4906 MetadataUpdate (from_id == to_id) and BatchMetadataUpdate.
struct MetadataUpdate {
  LogPosition at;
  std::string contract;
  Uint256 from_id;
  Uint256 to_id;
};

using ChainEvent = std::variant<std::vector<TokenTransfer>, UriChanged,
                                ConsecutiveTransfer, MetadataUpdate>;

struct DecodeLimits {
  size_t max_batch_ids = 10000;  // entries of one TransferBatch
  size_t max_uri_bytes = 1 << 20;
};

// Decodes any log the indexer follows. Logs that are not ours (ERC-20
// Transfers, other topics) are NotFound; malformed ones (wrong topic count
// or data length, bad ABI, an over-long batch) are InvalidArgument with
// reason `log_invalid`, the message saying what was wrong.
absl::StatusOr<ChainEvent> DecodeLog(const RawLog& log,
                                     const DecodeLimits& limits = {});
inline absl::StatusOr<ChainEvent> DecodeLog(const nlohmann::json& log,
                                            const DecodeLimits& limits = {}) {
  return DecodeLog(RawLogFromJson(log), limits);
}

}  // namespace niftysave::eth
