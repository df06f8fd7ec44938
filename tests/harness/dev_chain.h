#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/eth/json_rpc_client.h"
#include "common/http/http_client.h"
#include "nlohmann/json.hpp"

namespace niftysave::harness {

// Drives the test contracts (testdata/contracts: DemoNFT, DemoERC20,
// DemoMulti, DemoRawLogs) on an
// anvil node: deploys them and sends the transactions tests need, from
// accounts anvil holds the keys of (eth_accounts; the first is the default
// sender). Arguments are ABI-encoded here with the selectors the compiler
// wrote next to the bytecode.
//
// Addresses are taken with or without 0x, in any case, and returned as 40
// lower-case hex digits without 0x (the indexer's form); token ids and
// amounts are decimal uint256 strings; transaction hashes are "0x" + 64 hex.
//
// By default anvil mines one block per transaction, and each transaction
// call waits for its receipt and fails (Aborted, with the revert reason when
// it can be recovered) unless its status is 0x1. With SetAutomine(false),
// transactions wait in anvil's pool and the next Mine() puts them all in one
// block and checks their receipts then.
//
// Not thread-safe.
class DevChain {
 public:
  // anvil's first default account (AnvilNode::kDevAccount), normalised.
  static constexpr char kDevAccount[] =
      "f39fd6e51aad88f6f4ce6ab8827279cfffb92266";

  // `contracts_dir` holds <Name>.json artifacts written by
  // scripts/compile-contracts.js; empty means the build's own
  // (NIFTYSAVE_CONTRACTS_DIR).
  explicit DevChain(std::string rpc_url, std::string contracts_dir = "");

  // Deploys the named artifact (e.g. "DemoNFT") from kDevAccount and
  // returns the new contract's address. Needs automine.
  absl::StatusOr<std::string> Deploy(const std::string& contract_name);

  // DemoNFT. Each returns the transaction hash.
  absl::StatusOr<std::string> Mint(const std::string& contract,
                                   const std::string& to,
                                   const std::string& token_id,
                                   const std::string& uri);
  absl::StatusOr<std::string> MintBatch(const std::string& contract,
                                        const std::string& to,
                                        const std::vector<std::string>& ids,
                                        const std::vector<std::string>& uris);
  // `uri` may be any bytes (not UTF-8, say) to make tokenURI return garbage.
  absl::StatusOr<std::string> SetTokenUri(const std::string& contract,
                                          const std::string& token_id,
                                          const std::string& uri);
  // Sent by `from`, which must own the token.
  absl::StatusOr<std::string> Transfer(const std::string& contract,
                                       const std::string& from,
                                       const std::string& to,
                                       const std::string& token_id);
  absl::StatusOr<std::string> Burn(const std::string& contract,
                                   const std::string& token_id,
                                   const std::string& owner = kDevAccount);

  // ZoraStyleMedia: mints the next id (from 0) to `to`; the hashes are the
  // 32 raw bytes the contract reports, right or wrong.
  absl::StatusOr<std::string> ZoraMint(const std::string& contract,
                                       const std::string& to,
                                       const std::string& content_uri,
                                       const std::string& metadata_uri,
                                       const std::string& content_sha256,
                                       const std::string& metadata_sha256);

  // DemoERC20: mints `amount` (decimal) to `to`.
  absl::StatusOr<std::string> Erc20Mint(const std::string& contract,
                                        const std::string& to,
                                        const std::string& amount);

  // DemoMulti (ERC-1155). Amounts are decimal uint256 strings.
  absl::StatusOr<std::string> MultiMint(const std::string& contract,
                                        const std::string& to,
                                        const std::string& token_id,
                                        const std::string& amount);
  absl::StatusOr<std::string> MultiMintBatch(
      const std::string& contract, const std::string& to,
      const std::vector<std::string>& ids,
      const std::vector<std::string>& amounts);
  // mintBatchWithUris: one of each id, each with its own uri(id), in one
  // TransferBatch.
  absl::StatusOr<std::string> MultiMintBatchWithUris(
      const std::string& contract, const std::string& to,
      const std::vector<std::string>& ids,
      const std::vector<std::string>& uris);
  // safeTransferFrom, sent by `from`.
  absl::StatusOr<std::string> MultiTransfer(const std::string& contract,
                                            const std::string& from,
                                            const std::string& to,
                                            const std::string& token_id,
                                            const std::string& amount);
  // setURI(id, uri): emits URI(uri, id).
  absl::StatusOr<std::string> MultiSetUri(const std::string& contract,
                                          const std::string& token_id,
                                          const std::string& uri);

  // DemoRawLogs: emits a log with `topics` (0-4 words, "0x" + 64 hex each)
  // and `data` (hex, with or without 0x).
  absl::StatusOr<std::string> RawLog(const std::string& contract,
                                     const std::vector<std::string>& topics,
                                     const std::string& data);

  // DemoRawLogs: `logs` ERC-2309 ConsecutiveTransfer mints to `to` in one
  // transaction, `per_log` token ids each, from `first_id` on.
  absl::StatusOr<std::string> ConsecutiveMints(const std::string& contract,
                                               const std::string& to,
                                               uint64_t first_id,
                                               uint64_t per_log, uint64_t logs);

  // BenchSiteNFT / BenchSiteMulti (`artifact`): setBases, after which a
  // token's URI is bases[id % bases.size()] + id + ".json"; and mintBatch,
  // `n` mints of ids first_id .. first_id + n - 1 to `to`, as events only.
  absl::StatusOr<std::string> SiteSetBases(
      const std::string& artifact, const std::string& contract,
      const std::vector<std::string>& bases);
  absl::StatusOr<std::string> SiteMint(const std::string& artifact,
                                       const std::string& contract,
                                       const std::string& to, uint64_t first_id,
                                       uint64_t n);

  // evm_snapshot / evm_revert: the chain state (and head) back to the
  // snapshot; blocks mined after a revert replace the reverted ones.
  absl::StatusOr<std::string> Snapshot();
  absl::Status Revert(const std::string& snapshot_id);

  // Unlocked accounts, kDevAccount first, normalised.
  absl::StatusOr<std::vector<std::string>> Accounts();
  absl::StatusOr<uint64_t> BlockNumber();
  // The receipt of a mined transaction (NotFound while it is pending).
  absl::StatusOr<nlohmann::json> Receipt(const std::string& tx_hash);
  // The block a mined transaction is in.
  absl::StatusOr<uint64_t> TxBlock(const std::string& tx_hash);

  // Mines `blocks` blocks (anvil_mine); the first takes every pooled
  // transaction, whose receipts are then checked.
  absl::Status Mine(uint64_t blocks = 1);
  // evm_setAutomine. Switching it back on mines what is pooled.
  absl::Status SetAutomine(bool on);

  // The underlying client, for calls not wrapped here.
  eth::JsonRpcClient& rpc() { return rpc_; }

 private:
  struct Artifact {
    std::string bytecode;                          // 0x...
    std::map<std::string, std::string> selectors;  // signature → 8 hex
  };
  struct PendingTx {
    std::string hash;
    std::string what;  // for error messages
    nlohmann::json tx;
  };

  absl::StatusOr<const Artifact*> LoadArtifact(const std::string& name);
  // "0x" + selector of `signature` in `artifact` + `encoded_args` (hex).
  absl::StatusOr<std::string> CallData(const std::string& artifact,
                                       const std::string& signature,
                                       const std::string& encoded_args);
  // Sends a transaction; with automine waits for it and checks its status.
  absl::StatusOr<std::string> Send(const std::string& what,
                                   const std::string& from,
                                   const std::string& to,
                                   const std::string& data);
  absl::StatusOr<nlohmann::json> WaitForReceipt(const std::string& tx_hash);
  // OK for status 0x1; otherwise Aborted with the revert reason, recovered
  // by replaying the call on the parent block.
  absl::Status CheckReceipt(const PendingTx& tx, const nlohmann::json& receipt);

  http::HttpClient http_;
  eth::JsonRpcClient rpc_;
  const std::string contracts_dir_;
  std::map<std::string, Artifact> artifacts_;
  bool automine_ = true;
  std::vector<PendingTx> pending_;
};

}  // namespace niftysave::harness
