#include "services/indexer/chain_source.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/eth/abi.h"
#include "common/runtime/reason.h"
#include "services/indexer/contract_family.h"

namespace niftysave::indexer {

RpcChainSource::RpcChainSource(eth::JsonRpcClient& rpc, Options options)
    : rpc_(rpc), options_(options) {}

absl::StatusOr<uint64_t> RpcChainSource::HeadBlock() {
  absl::StatusOr<nlohmann::json> head =
      rpc_.Call("eth_blockNumber", nlohmann::json::array());
  if (!head.ok()) return head.status();
  return eth::ParseQuantity(*head);
}

namespace {

// Providers word "your range returned too much" in many ways (Alchemy,
// Infura, QuickNode, geth's own limits); all mean: ask for fewer blocks.
bool IsTooManyResults(const absl::Status& status) {
  if (ReasonOf(status) == "too_large") return true;  // our body limit
  const std::string message = absl::AsciiStrToLower(status.message());
  for (const char* needle :
       {"too many", "more than", "limit exceeded", "response size",
        "block range", "range too", "exceeds", "query timeout", "-32005"}) {
    if (absl::StrContains(message, needle)) return true;
  }
  return false;
}

absl::StatusOr<std::string> HashField(const nlohmann::json& block,
                                      const char* field) {
  const nlohmann::json v = block.value(field, nlohmann::json());
  if (!v.is_string() || v.get<std::string>().size() != 66 ||
      !absl::StartsWith(v.get<std::string>(), "0x")) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "rpc_invalid",
                           absl::StrCat("block without a valid ", field));
  }
  return absl::AsciiStrToLower(v.get<std::string>().substr(2));
}

// The ERC-165 ids DESIGN.md lists, probed on every new contract.
constexpr const char* kInterfaceIds[] = {"80ac58cd", "5b5e139f", "d9b67a26",
                                         "0e89341c", "49064906"};

}  // namespace

absl::StatusOr<std::vector<eth::RawLog>> RpcChainSource::Logs(uint64_t from,
                                                              uint64_t to) {
  nlohmann::json filter = {{"fromBlock", eth::ToQuantity(from)},
                           {"toBlock", eth::ToQuantity(to)},
                           {"topics", {eth::IndexedTopics()}}};
  // The reply is read with simdjson straight into RawLogs: a JSON document
  // per log cost more than anvil took to serve the page.
  std::vector<eth::RawLog> logs;
  absl::Status s = rpc_.CallParsed(
      "eth_getLogs", nlohmann::json::array({filter}),
      [&](const std::string& body, int64_t id) {
        absl::StatusOr<std::vector<eth::RawLog>> parsed =
            eth::ParseLogsReply(body, id, options_.max_logs_per_range);
        if (!parsed.ok()) return parsed.status();
        logs = *std::move(parsed);
        return absl::OkStatus();
      });
  if (!s.ok()) {
    if (IsTooManyResults(s) && ReasonOf(s) != "too_many_logs") {
      return ErrorWithReason(absl::StatusCode::kResourceExhausted,
                             "too_many_logs", s.message());
    }
    return s;
  }
  return logs;
}

absl::StatusOr<std::vector<BlockHeader>> RpcChainSource::BlockHeaders(
    const std::vector<uint64_t>& numbers) {
  std::vector<BlockHeader> out;
  for (size_t start = 0; start < numbers.size();
       start += options_.calls_per_batch) {
    const size_t end =
        std::min(numbers.size(), start + options_.calls_per_batch);
    std::vector<eth::JsonRpcClient::BatchCall> calls;
    for (size_t i = start; i < end; ++i) {
      calls.emplace_back(
          "eth_getBlockByNumber",
          nlohmann::json::array({eth::ToQuantity(numbers[i]), false}));
    }
    auto results = rpc_.Batch(calls);
    if (!results.ok()) return results.status();
    for (size_t i = start; i < end; ++i) {
      const absl::StatusOr<nlohmann::json>& r = (*results)[i - start];
      if (!r.ok()) return r.status();
      if (!r->is_object()) {
        return ErrorWithReason(absl::StatusCode::kUnavailable, "rpc_invalid",
                               absl::StrCat("no block ", numbers[i]));
      }
      absl::StatusOr<uint64_t> number =
          eth::ParseQuantity(r->value("number", nlohmann::json()));
      absl::StatusOr<std::string> hash = HashField(*r, "hash");
      absl::StatusOr<std::string> parent = HashField(*r, "parentHash");
      if (!number.ok() || *number != numbers[i]) {
        return ErrorWithReason(
            absl::StatusCode::kUnavailable, "rpc_invalid",
            absl::StrCat("asked for block ", numbers[i], ", got another"));
      }
      if (!hash.ok()) return hash.status();
      if (!parent.ok()) return parent.status();
      out.push_back({*number, *std::move(hash), *std::move(parent)});
    }
  }
  return out;
}

std::vector<absl::StatusOr<nlohmann::json>> RpcChainSource::CallBatch(
    const std::vector<std::pair<std::string, std::string>>& to_and_data,
    uint64_t block) {
  std::vector<absl::StatusOr<nlohmann::json>> out;
  out.reserve(to_and_data.size());
  for (size_t start = 0; start < to_and_data.size();
       start += options_.calls_per_batch) {
    const size_t end =
        std::min(to_and_data.size(), start + options_.calls_per_batch);
    std::vector<eth::JsonRpcClient::BatchCall> calls;
    for (size_t i = start; i < end; ++i) {
      nlohmann::json call = {{"to", "0x" + to_and_data[i].first},
                             {"data", to_and_data[i].second}};
      calls.emplace_back("eth_call",
                         nlohmann::json::array({call, eth::ToQuantity(block)}));
    }
    auto results = rpc_.Batch(calls);
    for (size_t i = start; i < end; ++i) {
      if (!results.ok()) {
        out.push_back(results.status());
      } else {
        out.push_back((*results)[i - start]);
      }
    }
  }
  return out;
}

namespace {

// A tokenURI/uri return: the URI, or the token's own failure.
absl::StatusOr<std::string> DecodeUri(const absl::StatusOr<nlohmann::json>& r,
                                      size_t max_bytes) {
  if (!r.ok()) return r.status();
  if (!r->is_string()) {
    return ErrorWithReason(absl::StatusCode::kInvalidArgument, "abi_invalid",
                           "eth_call result is not a string");
  }
  absl::StatusOr<std::string> uri =
      eth::DecodeAbiString(r->get<std::string>(), max_bytes);
  // Postgres text cannot hold NUL, and no URI needs one.
  if (uri.ok() && uri->find('\0') != std::string::npos) {
    uri = ErrorWithReason(absl::StatusCode::kInvalidArgument, "not_utf8",
                          "token URI contains a NUL character");
  }
  return uri;
}

}  // namespace

std::vector<absl::StatusOr<TokenRead>> RpcChainSource::TokenUris(
    const std::vector<TokenUriQuery>& queries, uint64_t block) {
  // Each query's tokenURI/uri call, then its family's calls, in one batch.
  std::vector<std::pair<std::string, std::string>> calls;
  std::vector<const ContractFamily*> families;
  std::vector<size_t> extra_calls;  // per query, after its tokenURI/uri
  calls.reserve(queries.size());
  for (const TokenUriQuery& q : queries) {
    calls.emplace_back(
        q.contract,
        eth::EncodeCallUint256(q.standard == eth::TokenStandard::kErc1155
                                   ? eth::kUriSelector
                                   : eth::kTokenUriSelector,
                               q.token_id));
    families.push_back(FamilyNamed(q.family));
    extra_calls.push_back(0);
    if (families.back() == nullptr) continue;
    for (std::string& data : families.back()->ExtraCalls(q.token_id)) {
      calls.emplace_back(q.contract, std::move(data));
      ++extra_calls.back();
    }
  }
  std::vector<absl::StatusOr<nlohmann::json>> results = CallBatch(calls, block);
  std::vector<absl::StatusOr<TokenRead>> out;
  out.reserve(queries.size());
  size_t next = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    absl::StatusOr<std::string> uri =
        DecodeUri(results[next++], options_.max_token_uri_bytes);
    if (families[i] == nullptr) {
      if (!uri.ok())
        out.push_back(uri.status());
      else
        out.push_back(TokenRead{*std::move(uri), {}});
      continue;
    }
    const size_t n = extra_calls[i];
    std::vector<std::string> extra;
    absl::Status failed = uri.status();
    for (size_t k = 0; k < n; ++k, ++next) {
      const absl::StatusOr<nlohmann::json>& r = results[next];
      if (failed.ok() && !r.ok()) failed = r.status();
      if (failed.ok() && !r->is_string()) {
        failed =
            ErrorWithReason(absl::StatusCode::kInvalidArgument, "abi_invalid",
                            "eth_call result is not a string");
      }
      if (failed.ok()) extra.push_back(r->get<std::string>());
    }
    TokenRead read;
    if (failed.ok()) {
      read.uri = *std::move(uri);
      failed = families[i]->ReadExtra(extra, options_.max_token_uri_bytes,
                                      read.family);
    }
    if (!failed.ok())
      out.push_back(failed);
    else
      out.push_back(std::move(read));
  }
  return out;
}

absl::Status RpcChainSource::DetectFamilies(
    std::vector<ContractInfo>& contracts, uint64_t block) {
  std::vector<eth::JsonRpcClient::BatchCall> calls;
  for (const ContractInfo& c : contracts) {
    calls.emplace_back(
        "eth_getCode",
        nlohmann::json::array({"0x" + c.address, eth::ToQuantity(block)}));
  }
  for (size_t start = 0; start < calls.size();
       start += options_.calls_per_batch) {
    const size_t end = std::min(calls.size(), start + options_.calls_per_batch);
    auto results = rpc_.Batch(std::vector<eth::JsonRpcClient::BatchCall>(
        calls.begin() + start, calls.begin() + end));
    if (!results.ok()) return results.status();
    for (size_t i = start; i < end; ++i) {
      const absl::StatusOr<nlohmann::json>& r = (*results)[i - start];
      // The node could not answer: ask again later, as for the probes.
      if (!r.ok()) return r.status();
      absl::StatusOr<std::string> code =
          r->is_string() ? eth::HexToBytes(r->get<std::string>())
                         : absl::InvalidArgumentError("not a string");
      if (!code.ok()) {
        return ErrorWithReason(absl::StatusCode::kUnavailable, "rpc_invalid",
                               "eth_getCode answer is not hex");
      }
      const ContractFamily* family = FamilyOfCode(*code);
      contracts[i].family = family ? std::string(family->name()) : "standard";
    }
  }
  return absl::OkStatus();
}

absl::Status RpcChainSource::ProbeContracts(
    std::vector<ContractInfo>& contracts, uint64_t block) {
  constexpr size_t kPerContract = 2 + std::size(kInterfaceIds);
  std::vector<std::pair<std::string, std::string>> calls;
  for (const ContractInfo& c : contracts) {
    calls.emplace_back(c.address, absl::StrCat("0x", eth::kNameSelector));
    calls.emplace_back(c.address, absl::StrCat("0x", eth::kSymbolSelector));
    for (const char* id : kInterfaceIds) {
      calls.emplace_back(c.address, eth::EncodeCallBytes4(
                                        eth::kSupportsInterfaceSelector, id));
    }
  }
  std::vector<absl::StatusOr<nlohmann::json>> results = CallBatch(calls, block);
  // A node failure (a lost or garbled batch entry, a dead URL) is not the
  // contract's answer: ask again later rather than record it for good.
  for (const absl::StatusOr<nlohmann::json>& r : results) {
    if (!r.ok() && ReasonOf(r.status()) != "revert" &&
        ReasonOf(r.status()) != "rpc_error") {
      return r.status();
    }
  }
  for (size_t i = 0; i < contracts.size(); ++i) {
    ContractInfo& c = contracts[i];
    std::vector<std::string> errors;
    auto text = [&](size_t k, const char* what) -> std::optional<std::string> {
      const absl::StatusOr<nlohmann::json>& r = results[i * kPerContract + k];
      absl::StatusOr<std::string> v =
          !r.ok() ? absl::StatusOr<std::string>(r.status())
          : !r->is_string()
              ? absl::StatusOr<std::string>(
                    absl::InvalidArgumentError("result is not a string"))
              : eth::DecodeAbiStringOrBytes32(r->get<std::string>(), 256);
      if (v.ok() && v->find('\0') == std::string::npos) return *v;
      errors.push_back(
          absl::StrCat(what, ": ", v.ok() ? "NUL" : ReasonOf(v.status())));
      return std::nullopt;
    };
    c.name = text(0, "name");
    c.symbol = text(1, "symbol");
    for (size_t k = 0; k < std::size(kInterfaceIds); ++k) {
      const absl::StatusOr<nlohmann::json>& r =
          results[i * kPerContract + 2 + k];
      if (r.ok() && r->is_string()) {
        absl::StatusOr<bool> yes = eth::DecodeAbiBool(r->get<std::string>());
        if (yes.ok() && *yes) c.interfaces.push_back(kInterfaceIds[k]);
      }
    }
    c.probe_error = absl::StrJoin(errors, "; ");
  }
  return DetectFamilies(contracts, block);
}

}  // namespace niftysave::indexer
