#pragma once
// Contract families: contracts whose tokens need more than the standards'
// tokenURI(id) / uri(id) to be archived right (Zora's Media contract: the
// token URI is the content, the metadata is elsewhere, and both are hashed on
// chain). A family is detected once per contract from its runtime code when
// the contract is first seen (RpcChainSource::ProbeContracts), recorded in
// contracts.family, and read per token by the URI reader with its extra
// calls. The extractor follows the generic token fields a family fills
// (FamilyFields: tokens.metadata_uri, content_sha256, metadata_sha256) and
// never needs to know the family. A new family is one file implementing
// ContractFamily plus its line in Families() (contract_family.cc).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/eth/uint256.h"
#include "services/indexer/indexer_model.h"

namespace niftysave::indexer {

class ContractFamily {
 public:
  virtual ~ContractFamily() = default;
  // Recorded in contracts.family: [a-z0-9_], at most 32 characters.
  virtual absl::string_view name() const = 0;
  // True when the contract's runtime code (raw bytes) belongs to the family.
  virtual bool Recognizes(absl::string_view code) const = 0;
  // eth_call data ("0x...") read for token `id` besides tokenURI(id).
  virtual std::vector<std::string> ExtraCalls(const eth::Uint256& id) const = 0;
  // Fills `out` from the ExtraCalls' return data (hex, one per call, in
  // order). A failure is the token's own, with the URI reads' reasons
  // (abi_invalid, too_large, not_utf8): its message names the call.
  virtual absl::Status ReadExtra(const std::vector<std::string>& results,
                                 size_t max_uri_bytes,
                                 FamilyFields& out) const = 0;
};

// Every family, in the order they are tried on a contract's code.
const std::vector<const ContractFamily*>& Families();
// The family recorded as `name`; nullptr for "standard" (and unknown names).
const ContractFamily* FamilyNamed(absl::string_view name);
// The first family that recognizes `code`; nullptr: a standard contract.
const ContractFamily* FamilyOfCode(absl::string_view code);

// True when `code` (raw EVM bytecode) pushes the 4-byte `selector` (8 hex
// digits) as an instruction: a PUSH1..PUSH4 whose value equals it (solc may
// drop leading zero bytes). Push data of other instructions is skipped, so
// bytes that merely contain the value do not count.
bool CodePushesSelector(absl::string_view code, absl::string_view selector);

// The Zora Media family (zora_media_family.cc).
const ContractFamily& ZoraMediaFamily();

}  // namespace niftysave::indexer
