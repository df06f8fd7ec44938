// Zora's Media contract (mainnet 0xabEFBc9fD2F806065b4f3C237d4b59D9A97Bcac7)
// and the contracts derived from it: tokenURI(id) is the content itself,
// tokenMetadataURI(id) the metadata JSON, and tokenContentHashes(id) /
// tokenMetadataHashes(id) the sha256 of each.
//
// Detected from the runtime code, not by calling tokenMetadataURI: a revert
// cannot tell a missing function from a missing token (Zora reverts for
// both), and the token the contract was found by may be burned by the block
// probed. The dispatcher of a compiled contract pushes each selector it
// serves (PUSH4 0x157c3df9 ...), so one eth_getCode per new contract answers
// for good. A contract behind a proxy (delegatecall to an implementation)
// shows the proxy's code and is taken as a standard contract.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/eth/abi.h"
#include "common/runtime/reason.h"
#include "services/indexer/contract_family.h"

namespace niftysave::indexer {
namespace {

// keccak256 of the signatures, first 4 bytes (checked against js-sha3).
constexpr char kTokenMetadataUri[] = "157c3df9";  // tokenMetadataURI(uint256)
constexpr char kContentHashes[] = "fad32197";     // tokenContentHashes(uint256)
constexpr char kMetadataHashes[] = "01ddc3b5";  // tokenMetadataHashes(uint256)

// A bytes32 return as 64 hex digits; unset for the zero hash, which Zora
// writes when the minter committed to nothing.
absl::StatusOr<std::optional<std::string>> DecodeHash(const std::string& hex,
                                                      const char* call) {
  absl::StatusOr<std::string> bytes = eth::HexToBytes(hex);
  if (!bytes.ok() || bytes->size() != 32) {
    return ErrorWithReason(absl::StatusCode::kInvalidArgument, "abi_invalid",
                           absl::StrCat(call, ": not one bytes32 word"));
  }
  if (*bytes == std::string(32, '\0')) return std::nullopt;
  return eth::BytesToHex(*bytes);
}

class ZoraMedia final : public ContractFamily {
 public:
  absl::string_view name() const override { return "zora_media"; }

  bool Recognizes(absl::string_view code) const override {
    return CodePushesSelector(code, kTokenMetadataUri) &&
           CodePushesSelector(code, kContentHashes) &&
           CodePushesSelector(code, kMetadataHashes);
  }

  std::vector<std::string> ExtraCalls(const eth::Uint256& id) const override {
    return {eth::EncodeCallUint256(kTokenMetadataUri, id),
            eth::EncodeCallUint256(kContentHashes, id),
            eth::EncodeCallUint256(kMetadataHashes, id)};
  }

  absl::Status ReadExtra(const std::vector<std::string>& results,
                         size_t max_uri_bytes,
                         FamilyFields& out) const override {
    if (results.size() != 3) {
      return ErrorWithReason(absl::StatusCode::kInternal, "abi_invalid",
                             "zora_media: wrong number of results");
    }
    absl::StatusOr<std::string> metadata =
        eth::DecodeAbiString(results[0], max_uri_bytes);
    if (metadata.ok() && metadata->find('\0') != std::string::npos) {
      metadata = ErrorWithReason(absl::StatusCode::kInvalidArgument, "not_utf8",
                                 "contains a NUL character");
    }
    if (!metadata.ok()) {
      return WithReason(absl::Status(metadata.status().code(),
                                     absl::StrCat("tokenMetadataURI: ",
                                                  metadata.status().message())),
                        ReasonOf(metadata.status()));
    }
    auto content = DecodeHash(results[1], "tokenContentHashes");
    if (!content.ok()) return content.status();
    auto meta_hash = DecodeHash(results[2], "tokenMetadataHashes");
    if (!meta_hash.ok()) return meta_hash.status();
    out.metadata_uri = *std::move(metadata);
    out.content_sha256 = *std::move(content);
    out.metadata_sha256 = *std::move(meta_hash);
    return absl::OkStatus();
  }
};

}  // namespace

const ContractFamily& ZoraMediaFamily() {
  static const ZoraMedia kFamily;
  return kFamily;
}

}  // namespace niftysave::indexer
