#include "tests/harness/dev_chain.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/eth/abi.h"
#include "common/eth/uint256.h"

namespace niftysave::harness {
namespace {

// anvil's default sender gas is the whole block gas limit, so only one such
// transaction fits a block; pooled ones (automine off) get this much so a
// block can take several.
constexpr uint64_t kPooledTxGas = 3'000'000;
constexpr absl::Duration kReceiptTimeout = absl::Seconds(30);

// One ABI-encoded value (raw bytes): a static value is its own head; a
// dynamic one goes to the tail, its head being the offset to it.
struct AbiValue {
  bool dynamic = false;
  std::string bytes;
};

std::string Word(const eth::Uint256& v) {
  // ToHex64 is always 64 valid digits, so this cannot fail.
  return *eth::HexToBytes(v.ToHex64());
}
std::string Word(uint64_t v) { return Word(eth::Uint256(v)); }

std::string PadTo32(std::string bytes) {
  bytes.append((32 - bytes.size() % 32) % 32, '\0');
  return bytes;
}

std::string EncodeTuple(const std::vector<AbiValue>& values) {
  std::string head;
  std::string tail;
  const uint64_t head_size = 32 * values.size();
  for (const AbiValue& v : values) {
    if (v.dynamic) {
      head += Word(head_size + tail.size());
      tail += v.bytes;
    } else {
      head += v.bytes;
    }
  }
  return head + tail;
}

AbiValue AbiUint(const eth::Uint256& v) { return {false, Word(v)}; }
AbiValue AbiString(const std::string& s) {
  return {true, Word(s.size()) + PadTo32(s)};
}
AbiValue AbiArray(const std::vector<AbiValue>& elements) {
  return {true, Word(elements.size()) + EncodeTuple(elements)};
}

absl::StatusOr<std::string> NormalizeAddress(const std::string& address) {
  std::string hex = absl::AsciiStrToLower(address);
  if (absl::StartsWith(hex, "0x")) hex = hex.substr(2);
  if (hex.size() != 40 || !std::all_of(hex.begin(), hex.end(), [](char c) {
        return absl::ascii_isxdigit(static_cast<unsigned char>(c));
      })) {
    return absl::InvalidArgumentError(
        absl::StrCat("DevChain: not an address: '", address, "'"));
  }
  return hex;
}

absl::StatusOr<AbiValue> AbiAddress(const std::string& address) {
  absl::StatusOr<std::string> hex = NormalizeAddress(address);
  if (!hex.ok()) return hex.status();
  return AbiValue{false, std::string(12, '\0') + *eth::HexToBytes(*hex)};
}

absl::StatusOr<AbiValue> AbiDecimal(const std::string& decimal) {
  absl::StatusOr<eth::Uint256> v = eth::Uint256::FromDecimal(decimal);
  if (!v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("DevChain: not a decimal uint256: '", decimal,
                     "': ", v.status().message()));
  }
  return AbiUint(*v);
}

std::string ArgsHex(const std::vector<AbiValue>& args) {
  return eth::BytesToHex(EncodeTuple(args));
}

}  // namespace

DevChain::DevChain(std::string rpc_url, std::string contracts_dir)
    : http_(http::HttpClientOptions{}),
      rpc_(http_, std::move(rpc_url)),
      contracts_dir_(contracts_dir.empty() ? NIFTYSAVE_CONTRACTS_DIR
                                           : std::move(contracts_dir)) {}

absl::StatusOr<const DevChain::Artifact*> DevChain::LoadArtifact(
    const std::string& name) {
  if (auto it = artifacts_.find(name); it != artifacts_.end()) {
    return &it->second;
  }
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
      })) {
    return absl::InvalidArgumentError(
        absl::StrCat("DevChain: bad contract name '", name, "'"));
  }
  const std::string path = absl::StrCat(contracts_dir_, "/", name, ".json");
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("DevChain: no artifact ", path,
                     " (built by the niftysave_contracts target)"));
  }
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
  if (json.is_discarded() || !json.is_object() ||
      !json.value("bytecode", nlohmann::json()).is_string() ||
      !json.value("methodIdentifiers", nlohmann::json()).is_object()) {
    return absl::InternalError(
        absl::StrCat("DevChain: malformed artifact ", path));
  }
  Artifact artifact;
  artifact.bytecode = json["bytecode"].get<std::string>();
  for (const auto& [signature, selector] : json["methodIdentifiers"].items()) {
    if (selector.is_string()) {
      artifact.selectors[signature] = selector.get<std::string>();
    }
  }
  return &artifacts_.emplace(name, std::move(artifact)).first->second;
}

absl::StatusOr<std::string> DevChain::CallData(
    const std::string& artifact, const std::string& signature,
    const std::string& encoded_args) {
  absl::StatusOr<const Artifact*> a = LoadArtifact(artifact);
  if (!a.ok()) return a.status();
  auto it = (*a)->selectors.find(signature);
  if (it == (*a)->selectors.end()) {
    return absl::NotFoundError(
        absl::StrCat("DevChain: ", artifact, " has no ", signature));
  }
  return absl::StrCat("0x", it->second, encoded_args);
}

absl::StatusOr<std::string> DevChain::Deploy(const std::string& contract_name) {
  if (!automine_) {
    return absl::FailedPreconditionError(
        "DevChain: Deploy needs automine (it waits for the address)");
  }
  absl::StatusOr<const Artifact*> artifact = LoadArtifact(contract_name);
  if (!artifact.ok()) return artifact.status();
  absl::StatusOr<std::string> hash =
      Send(absl::StrCat("deploy ", contract_name), kDevAccount, "",
           (*artifact)->bytecode);
  if (!hash.ok()) return hash.status();
  absl::StatusOr<nlohmann::json> receipt = Receipt(*hash);
  if (!receipt.ok()) return receipt.status();
  const nlohmann::json address =
      receipt->value("contractAddress", nlohmann::json());
  if (!address.is_string()) {
    return absl::InternalError(absl::StrCat(
        "DevChain: deploy receipt has no contractAddress: ", receipt->dump()));
  }
  return NormalizeAddress(address.get<std::string>());
}

absl::StatusOr<std::string> DevChain::Mint(const std::string& contract,
                                           const std::string& to,
                                           const std::string& token_id,
                                           const std::string& uri) {
  absl::StatusOr<AbiValue> to_arg = AbiAddress(to);
  if (!to_arg.ok()) return to_arg.status();
  absl::StatusOr<AbiValue> id_arg = AbiDecimal(token_id);
  if (!id_arg.ok()) return id_arg.status();
  absl::StatusOr<std::string> data =
      CallData("DemoNFT", "mint(address,uint256,string)",
               ArgsHex({*to_arg, *id_arg, AbiString(uri)}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("mint ", token_id), kDevAccount, contract, *data);
}

absl::StatusOr<std::string> DevChain::ZoraMint(
    const std::string& contract, const std::string& to,
    const std::string& content_uri, const std::string& metadata_uri,
    const std::string& content_sha256, const std::string& metadata_sha256) {
  if (content_sha256.size() != 32 || metadata_sha256.size() != 32) {
    return absl::InvalidArgumentError("DevChain: a sha256 is 32 bytes");
  }
  absl::StatusOr<AbiValue> to_arg = AbiAddress(to);
  if (!to_arg.ok()) return to_arg.status();
  absl::StatusOr<std::string> data = CallData(
      "ZoraStyleMedia", "mint(address,string,string,bytes32,bytes32)",
      ArgsHex({*to_arg, AbiString(content_uri), AbiString(metadata_uri),
               AbiValue{false, content_sha256},
               AbiValue{false, metadata_sha256}}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("zora mint ", content_uri), kDevAccount, contract,
              *data);
}

absl::StatusOr<std::string> DevChain::MintBatch(
    const std::string& contract, const std::string& to,
    const std::vector<std::string>& ids, const std::vector<std::string>& uris) {
  absl::StatusOr<AbiValue> to_arg = AbiAddress(to);
  if (!to_arg.ok()) return to_arg.status();
  std::vector<AbiValue> id_values;
  for (const std::string& id : ids) {
    absl::StatusOr<AbiValue> v = AbiDecimal(id);
    if (!v.ok()) return v.status();
    id_values.push_back(*std::move(v));
  }
  std::vector<AbiValue> uri_values;
  for (const std::string& uri : uris) uri_values.push_back(AbiString(uri));
  absl::StatusOr<std::string> data =
      CallData("DemoNFT", "mintBatch(address,uint256[],string[])",
               ArgsHex({*to_arg, AbiArray(id_values), AbiArray(uri_values)}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("mintBatch ", absl::StrJoin(ids, ",")), kDevAccount,
              contract, *data);
}

absl::StatusOr<std::string> DevChain::SiteSetBases(
    const std::string& artifact, const std::string& contract,
    const std::vector<std::string>& bases) {
  std::vector<AbiValue> values;
  for (const std::string& b : bases) values.push_back(AbiString(b));
  absl::StatusOr<std::string> data =
      CallData(artifact, "setBases(string[])", ArgsHex({AbiArray(values)}));
  if (!data.ok()) return data.status();
  return Send("setBases", kDevAccount, contract, *data);
}

absl::StatusOr<std::string> DevChain::SiteMint(const std::string& artifact,
                                               const std::string& contract,
                                               const std::string& to,
                                               uint64_t first_id, uint64_t n) {
  absl::StatusOr<AbiValue> to_arg = AbiAddress(to);
  if (!to_arg.ok()) return to_arg.status();
  absl::StatusOr<std::string> data =
      CallData(artifact, "mintBatch(address,uint256,uint256)",
               ArgsHex({*to_arg, AbiUint(eth::Uint256(first_id)),
                        AbiUint(eth::Uint256(n))}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("mintBatch ", first_id, "+", n), kDevAccount,
              contract, *data);
}

absl::StatusOr<std::string> DevChain::SetTokenUri(const std::string& contract,
                                                  const std::string& token_id,
                                                  const std::string& uri) {
  absl::StatusOr<AbiValue> id_arg = AbiDecimal(token_id);
  if (!id_arg.ok()) return id_arg.status();
  absl::StatusOr<std::string> data =
      CallData("DemoNFT", "setTokenURI(uint256,string)",
               ArgsHex({*id_arg, AbiString(uri)}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("setTokenURI ", token_id), kDevAccount, contract,
              *data);
}

absl::StatusOr<std::string> DevChain::Transfer(const std::string& contract,
                                               const std::string& from,
                                               const std::string& to,
                                               const std::string& token_id) {
  absl::StatusOr<AbiValue> from_arg = AbiAddress(from);
  if (!from_arg.ok()) return from_arg.status();
  absl::StatusOr<AbiValue> to_arg = AbiAddress(to);
  if (!to_arg.ok()) return to_arg.status();
  absl::StatusOr<AbiValue> id_arg = AbiDecimal(token_id);
  if (!id_arg.ok()) return id_arg.status();
  absl::StatusOr<std::string> data =
      CallData("DemoNFT", "transferFrom(address,address,uint256)",
               ArgsHex({*from_arg, *to_arg, *id_arg}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("transfer ", token_id), from, contract, *data);
}

absl::StatusOr<std::string> DevChain::Burn(const std::string& contract,
                                           const std::string& token_id,
                                           const std::string& owner) {
  absl::StatusOr<AbiValue> id_arg = AbiDecimal(token_id);
  if (!id_arg.ok()) return id_arg.status();
  absl::StatusOr<std::string> data =
      CallData("DemoNFT", "burn(uint256)", ArgsHex({*id_arg}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("burn ", token_id), owner, contract, *data);
}

absl::StatusOr<std::string> DevChain::Erc20Mint(const std::string& contract,
                                                const std::string& to,
                                                const std::string& amount) {
  absl::StatusOr<AbiValue> to_arg = AbiAddress(to);
  if (!to_arg.ok()) return to_arg.status();
  absl::StatusOr<AbiValue> amount_arg = AbiDecimal(amount);
  if (!amount_arg.ok()) return amount_arg.status();
  absl::StatusOr<std::string> data = CallData(
      "DemoERC20", "mint(address,uint256)", ArgsHex({*to_arg, *amount_arg}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("ERC-20 mint ", amount), kDevAccount, contract,
              *data);
}

namespace {

absl::StatusOr<std::vector<AbiValue>> Decimals(
    const std::vector<std::string>& values) {
  std::vector<AbiValue> out;
  for (const std::string& v : values) {
    absl::StatusOr<AbiValue> word = AbiDecimal(v);
    if (!word.ok()) return word.status();
    out.push_back(*std::move(word));
  }
  return out;
}

AbiValue AbiBytes(const std::string& bytes) {
  return {true, Word(bytes.size()) + PadTo32(bytes)};
}

}  // namespace

absl::StatusOr<std::string> DevChain::MultiMint(const std::string& contract,
                                                const std::string& to,
                                                const std::string& token_id,
                                                const std::string& amount) {
  absl::StatusOr<AbiValue> to_arg = AbiAddress(to);
  if (!to_arg.ok()) return to_arg.status();
  absl::StatusOr<std::vector<AbiValue>> nums = Decimals({token_id, amount});
  if (!nums.ok()) return nums.status();
  absl::StatusOr<std::string> data =
      CallData("DemoMulti", "mint(address,uint256,uint256)",
               ArgsHex({*to_arg, (*nums)[0], (*nums)[1]}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("ERC-1155 mint ", token_id), kDevAccount, contract,
              *data);
}

absl::StatusOr<std::string> DevChain::MultiMintBatch(
    const std::string& contract, const std::string& to,
    const std::vector<std::string>& ids,
    const std::vector<std::string>& amounts) {
  absl::StatusOr<AbiValue> to_arg = AbiAddress(to);
  if (!to_arg.ok()) return to_arg.status();
  absl::StatusOr<std::vector<AbiValue>> id_values = Decimals(ids);
  if (!id_values.ok()) return id_values.status();
  absl::StatusOr<std::vector<AbiValue>> amount_values = Decimals(amounts);
  if (!amount_values.ok()) return amount_values.status();
  absl::StatusOr<std::string> data = CallData(
      "DemoMulti", "mintBatch(address,uint256[],uint256[])",
      ArgsHex({*to_arg, AbiArray(*id_values), AbiArray(*amount_values)}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("ERC-1155 mintBatch ", absl::StrJoin(ids, ",")),
              kDevAccount, contract, *data);
}

absl::StatusOr<std::string> DevChain::MultiMintBatchWithUris(
    const std::string& contract, const std::string& to,
    const std::vector<std::string>& ids, const std::vector<std::string>& uris) {
  absl::StatusOr<AbiValue> to_arg = AbiAddress(to);
  if (!to_arg.ok()) return to_arg.status();
  absl::StatusOr<std::vector<AbiValue>> id_values = Decimals(ids);
  if (!id_values.ok()) return id_values.status();
  std::vector<AbiValue> uri_values;
  for (const std::string& uri : uris) uri_values.push_back(AbiString(uri));
  absl::StatusOr<std::string> data =
      CallData("DemoMulti", "mintBatchWithUris(address,uint256[],string[])",
               ArgsHex({*to_arg, AbiArray(*id_values), AbiArray(uri_values)}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("ERC-1155 mintBatchWithUris ", ids.front(), "..",
                           ids.back()),
              kDevAccount, contract, *data);
}

absl::StatusOr<std::string> DevChain::MultiTransfer(const std::string& contract,
                                                    const std::string& from,
                                                    const std::string& to,
                                                    const std::string& token_id,
                                                    const std::string& amount) {
  absl::StatusOr<AbiValue> from_arg = AbiAddress(from);
  if (!from_arg.ok()) return from_arg.status();
  absl::StatusOr<AbiValue> to_arg = AbiAddress(to);
  if (!to_arg.ok()) return to_arg.status();
  absl::StatusOr<std::vector<AbiValue>> nums = Decimals({token_id, amount});
  if (!nums.ok()) return nums.status();
  absl::StatusOr<std::string> data = CallData(
      "DemoMulti", "safeTransferFrom(address,address,uint256,uint256,bytes)",
      ArgsHex({*from_arg, *to_arg, (*nums)[0], (*nums)[1], AbiBytes("")}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("ERC-1155 transfer ", token_id), from, contract,
              *data);
}

absl::StatusOr<std::string> DevChain::MultiSetUri(const std::string& contract,
                                                  const std::string& token_id,
                                                  const std::string& uri) {
  absl::StatusOr<AbiValue> id_arg = AbiDecimal(token_id);
  if (!id_arg.ok()) return id_arg.status();
  absl::StatusOr<std::string> data =
      CallData("DemoMulti", "setURI(uint256,string)",
               ArgsHex({*id_arg, AbiString(uri)}));
  if (!data.ok()) return data.status();
  return Send(absl::StrCat("ERC-1155 setURI ", token_id), kDevAccount, contract,
              *data);
}

absl::StatusOr<std::string> DevChain::RawLog(
    const std::string& contract, const std::vector<std::string>& topics,
    const std::string& data) {
  if (topics.size() > 4) {
    return absl::InvalidArgumentError("DevChain: a log has at most 4 topics");
  }
  std::vector<AbiValue> args = {AbiUint(eth::Uint256(topics.size()))};
  for (size_t i = 0; i < 4; ++i) {
    absl::StatusOr<std::string> word =
        i < topics.size() ? eth::HexToBytes(topics[i])
                          : absl::StatusOr<std::string>(std::string(32, '\0'));
    if (!word.ok() || word->size() != 32) {
      return absl::InvalidArgumentError(
          absl::StrCat("DevChain: topic ", i, " is not 32 bytes of hex"));
    }
    args.push_back({false, *word});
  }
  absl::StatusOr<std::string> bytes = eth::HexToBytes(data);
  if (!bytes.ok()) return bytes.status();
  args.push_back(AbiBytes(*bytes));
  absl::StatusOr<std::string> call = CallData(
      "DemoRawLogs", "rawLog(uint8,bytes32,bytes32,bytes32,bytes32,bytes)",
      ArgsHex(args));
  if (!call.ok()) return call.status();
  return Send("rawLog", kDevAccount, contract, *call);
}

absl::StatusOr<std::string> DevChain::ConsecutiveMints(
    const std::string& contract, const std::string& to, uint64_t first_id,
    uint64_t per_log, uint64_t logs) {
  absl::StatusOr<AbiValue> to_arg = AbiAddress(to);
  if (!to_arg.ok()) return to_arg.status();
  absl::StatusOr<std::string> call = CallData(
      "DemoRawLogs", "consecutiveMints(address,uint256,uint256,uint256)",
      ArgsHex({*to_arg, AbiUint(eth::Uint256(first_id)),
               AbiUint(eth::Uint256(per_log)), AbiUint(eth::Uint256(logs))}));
  if (!call.ok()) return call.status();
  return Send("consecutiveMints", kDevAccount, contract, *call);
}

absl::StatusOr<std::string> DevChain::Snapshot() {
  absl::StatusOr<nlohmann::json> id =
      rpc_.Call("evm_snapshot", nlohmann::json::array());
  if (!id.ok()) return id.status();
  if (!id->is_string()) {
    return absl::InternalError("DevChain: evm_snapshot returned no id");
  }
  return id->get<std::string>();
}

absl::Status DevChain::Revert(const std::string& snapshot_id) {
  absl::StatusOr<nlohmann::json> ok =
      rpc_.Call("evm_revert", nlohmann::json::array({snapshot_id}));
  if (!ok.ok()) return ok.status();
  if (*ok != true) {
    return absl::NotFoundError(
        absl::StrCat("DevChain: no snapshot ", snapshot_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DevChain::Send(const std::string& what,
                                           const std::string& from,
                                           const std::string& to,
                                           const std::string& data) {
  absl::StatusOr<std::string> sender = NormalizeAddress(from);
  if (!sender.ok()) return sender.status();
  nlohmann::json tx = {{"from", "0x" + *sender}, {"data", data}};
  if (!to.empty()) {
    absl::StatusOr<std::string> target = NormalizeAddress(to);
    if (!target.ok()) return target.status();
    tx["to"] = "0x" + *target;
  }
  if (!automine_) tx["gas"] = eth::ToQuantity(kPooledTxGas);
  absl::StatusOr<nlohmann::json> hash =
      rpc_.Call("eth_sendTransaction", nlohmann::json::array({tx}));
  if (!hash.ok()) {
    return absl::Status(
        hash.status().code(),
        absl::StrCat("DevChain: ", what, ": ", hash.status().message()));
  }
  if (!hash->is_string()) {
    return absl::InternalError(absl::StrCat(
        "DevChain: ", what, ": eth_sendTransaction returned ", hash->dump()));
  }
  PendingTx pending{hash->get<std::string>(), what, std::move(tx)};
  if (!automine_) {
    pending_.push_back(pending);
    return pending.hash;
  }
  absl::StatusOr<nlohmann::json> receipt = WaitForReceipt(pending.hash);
  if (!receipt.ok()) return receipt.status();
  if (absl::Status s = CheckReceipt(pending, *receipt); !s.ok()) return s;
  return pending.hash;
}

absl::StatusOr<nlohmann::json> DevChain::Receipt(const std::string& tx_hash) {
  absl::StatusOr<nlohmann::json> receipt =
      rpc_.Call("eth_getTransactionReceipt", nlohmann::json::array({tx_hash}));
  if (!receipt.ok()) return receipt.status();
  if (receipt->is_null()) {
    return absl::NotFoundError(
        absl::StrCat("DevChain: transaction ", tx_hash, " is not mined"));
  }
  if (!receipt->is_object()) {
    return absl::InternalError(
        absl::StrCat("DevChain: odd receipt for ", tx_hash));
  }
  return receipt;
}

absl::StatusOr<uint64_t> DevChain::TxBlock(const std::string& tx_hash) {
  absl::StatusOr<nlohmann::json> receipt = Receipt(tx_hash);
  if (!receipt.ok()) return receipt.status();
  return eth::ParseQuantity(receipt->value("blockNumber", nlohmann::json()));
}

absl::StatusOr<nlohmann::json> DevChain::WaitForReceipt(
    const std::string& tx_hash) {
  const absl::Time deadline = absl::Now() + kReceiptTimeout;
  while (true) {
    absl::StatusOr<nlohmann::json> receipt = Receipt(tx_hash);
    if (receipt.ok() ||
        receipt.status().code() != absl::StatusCode::kNotFound) {
      return receipt;
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("DevChain: no receipt for ", tx_hash, " after ",
                       absl::FormatDuration(kReceiptTimeout)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status DevChain::CheckReceipt(const PendingTx& tx,
                                    const nlohmann::json& receipt) {
  if (receipt.value("status", "") == "0x1") return absl::OkStatus();
  // The receipt says only that it failed; the same call on the parent block
  // usually says why (exactly so with automine: one transaction per block).
  std::string reason = "no reason recovered";
  absl::StatusOr<uint64_t> block =
      eth::ParseQuantity(receipt.value("blockNumber", nlohmann::json()));
  if (block.ok() && *block > 0) {
    nlohmann::json call = tx.tx;
    call.erase("gas");
    absl::StatusOr<nlohmann::json> replay = rpc_.Call(
        "eth_call", nlohmann::json::array({call, eth::ToQuantity(*block - 1)}));
    if (!replay.ok()) reason = std::string(replay.status().message());
  }
  return absl::AbortedError(absl::StrCat(
      "DevChain: ", tx.what, " reverted (tx ", tx.hash, "): ", reason));
}

absl::StatusOr<std::vector<std::string>> DevChain::Accounts() {
  absl::StatusOr<nlohmann::json> accounts =
      rpc_.Call("eth_accounts", nlohmann::json::array());
  if (!accounts.ok()) return accounts.status();
  std::vector<std::string> out;
  if (accounts->is_array()) {
    for (const nlohmann::json& a : *accounts) {
      if (!a.is_string()) continue;
      absl::StatusOr<std::string> address =
          NormalizeAddress(a.get<std::string>());
      if (address.ok()) out.push_back(*std::move(address));
    }
  }
  if (out.empty())
    return absl::InternalError("DevChain: eth_accounts is empty");
  return out;
}

absl::StatusOr<uint64_t> DevChain::BlockNumber() {
  absl::StatusOr<nlohmann::json> head =
      rpc_.Call("eth_blockNumber", nlohmann::json::array());
  if (!head.ok()) return head.status();
  return eth::ParseQuantity(*head);
}

absl::Status DevChain::Mine(uint64_t blocks) {
  if (blocks == 0) return absl::OkStatus();
  absl::StatusOr<nlohmann::json> mined =
      rpc_.Call("anvil_mine", nlohmann::json::array({eth::ToQuantity(blocks)}));
  if (!mined.ok()) return mined.status();
  std::vector<PendingTx> pending = std::move(pending_);
  pending_.clear();
  for (const PendingTx& tx : pending) {
    absl::StatusOr<nlohmann::json> receipt = Receipt(tx.hash);
    if (!receipt.ok()) {
      return absl::Status(receipt.status().code(),
                          absl::StrCat("DevChain: ", tx.what, ": ",
                                       receipt.status().message()));
    }
    if (absl::Status s = CheckReceipt(tx, *receipt); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status DevChain::SetAutomine(bool on) {
  absl::StatusOr<nlohmann::json> r =
      rpc_.Call("evm_setAutomine", nlohmann::json::array({on}));
  if (!r.ok()) return r.status();
  automine_ = on;
  if (on && !pending_.empty()) return Mine(1);
  return absl::OkStatus();
}

}  // namespace niftysave::harness
