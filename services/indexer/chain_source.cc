#include "services/indexer/chain_source.h"

#include "absl/strings/str_cat.h"
#include "common/eth/abi.h"
#include "common/runtime/reason.h"

namespace niftysave::indexer {

RpcChainSource::RpcChainSource(eth::JsonRpcClient& rpc, Options options)
    : rpc_(rpc), options_(options) {}

absl::StatusOr<uint64_t> RpcChainSource::HeadBlock() {
  absl::StatusOr<nlohmann::json> head =
      rpc_.Call("eth_blockNumber", nlohmann::json::array());
  if (!head.ok()) return head.status();
  return eth::ParseQuantity(*head);
}

absl::StatusOr<std::vector<nlohmann::json>> RpcChainSource::TransferLogs(
    uint64_t from, uint64_t to) {
  nlohmann::json filter = {{"fromBlock", eth::ToQuantity(from)},
                           {"toBlock", eth::ToQuantity(to)},
                           {"topics", {eth::kTransferTopic}}};
  absl::StatusOr<nlohmann::json> logs =
      rpc_.Call("eth_getLogs", nlohmann::json::array({filter}));
  if (!logs.ok()) return logs.status();
  if (!logs->is_array()) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "rpc_invalid",
                           "eth_getLogs result is not an array");
  }
  if (logs->size() > options_.max_logs_per_range) {
    return ErrorWithReason(absl::StatusCode::kResourceExhausted,
                           "too_many_logs",
                           absl::StrCat(logs->size(), " logs in one range"));
  }
  return logs->get<std::vector<nlohmann::json>>();
}

std::vector<absl::StatusOr<std::string>> RpcChainSource::TokenUris(
    const std::vector<TokenUriQuery>& queries, uint64_t block) {
  std::vector<absl::StatusOr<std::string>> out;
  out.reserve(queries.size());
  for (size_t start = 0; start < queries.size();
       start += options_.calls_per_batch) {
    const size_t end =
        std::min(queries.size(), start + options_.calls_per_batch);
    std::vector<eth::JsonRpcClient::BatchCall> calls;
    for (size_t i = start; i < end; ++i) {
      nlohmann::json call = {
          {"to", "0x" + queries[i].contract},
          {"data", eth::EncodeCallUint256(eth::kTokenUriSelector,
                                          queries[i].token_id)}};
      calls.emplace_back("eth_call",
                         nlohmann::json::array({call, eth::ToQuantity(block)}));
    }
    auto results = rpc_.Batch(calls);
    for (size_t i = start; i < end; ++i) {
      if (!results.ok()) {
        out.push_back(results.status());
        continue;
      }
      const absl::StatusOr<nlohmann::json>& r = (*results)[i - start];
      if (!r.ok()) {
        out.push_back(r.status());
      } else if (!r->is_string()) {
        out.push_back(ErrorWithReason(absl::StatusCode::kInvalidArgument,
                                      "abi_invalid",
                                      "eth_call result is not a string"));
      } else {
        out.push_back(eth::DecodeAbiString(r->get<std::string>(),
                                           options_.max_token_uri_bytes));
      }
    }
  }
  return out;
}

}  // namespace niftysave::indexer
