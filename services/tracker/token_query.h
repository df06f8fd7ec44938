#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace niftysave::tracker {

// A validated ListTokens request. Pages are keyset pages on tokens.id: the
// next page starts after the last id returned, so a page costs the same
// however deep it is and concurrent inserts never shift it.
struct TokenListQuery {
  uint64_t chain_id = 0;
  std::string contract;  // 40 lower-case hex digits, or "" for any
  std::string status;    // queued, extracted, archived, failed, or "" for any
  int limit = 100;
  int64_t after_id = 0;  // 0: first page
};

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;
inline constexpr int kMaxBatchKeys = 100;

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

}  // namespace niftysave::tracker
