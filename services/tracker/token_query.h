#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eth/token_key.h"
#include "services/tracker/tracker_model.h"

namespace niftysave::tracker {

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;

// Checks what a client sent; InvalidArgument naming the bad field. `contract`
// may have a 0x prefix and any case; `page_size` 0 means kDefaultPageSize.
absl::StatusOr<TokenListQuery> MakeTokenListQuery(
    uint64_t chain_id, const std::string& contract, const std::string& status,
    uint32_t page_size, const std::string& page_token);

// The opaque page token for "after this id" (URL-safe base64, versioned).
std::string EncodePageToken(int64_t after_id);
absl::StatusOr<int64_t> DecodePageToken(const std::string& token);

// WatchProgress's interval: 0 means 5 s; otherwise 1-60 s.
absl::StatusOr<absl::Duration> WatchInterval(uint32_t seconds);

// The contract of a request from outside: chain_id set, the address "0x" +
// 40 hex digits in any case (the rules of eth::ParseTokenKey).
// InvalidArgument otherwise.
absl::StatusOr<ContractRef> ParseContractRef(uint64_t chain_id,
                                             const std::string& contract);

// The report of `key` from the rows of the repository's token report query
// (at least one), which come grouped by json_path.
TokenReport AssembleTokenReport(const eth::TokenKey& key,
                                std::vector<TokenReportRow> rows);

// Counts by name, most first (ties in name order): failures by reason.
std::vector<std::pair<std::string, int64_t>> MostFirst(
    const std::map<std::string, int64_t>& counts);

}  // namespace niftysave::tracker
