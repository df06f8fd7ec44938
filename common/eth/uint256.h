#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace niftysave::eth {

// An unsigned 256-bit integer: token ids, amounts. Only what the indexer
// needs: parse and print in hex and decimal without losing precision.
class Uint256 {
 public:
  Uint256() = default;
  explicit Uint256(uint64_t v) { limbs_[0] = v; }

  // "0x"-prefixed or bare hex, at most 64 digits (leading zeros allowed
  // beyond that only in a 32-byte ABI word: 64 digits exactly).
  static absl::StatusOr<Uint256> FromHex(absl::string_view hex);
  // Decimal, at most 78 digits and <= 2^256-1.
  static absl::StatusOr<Uint256> FromDecimal(absl::string_view decimal);

  std::string ToDecimal() const;
  std::string ToHex64() const;  // 64 lower-case digits, zero-padded, no 0x
  bool IsZero() const {
    return (limbs_[0] | limbs_[1] | limbs_[2] | limbs_[3]) == 0;
  }
  bool FitsUint64() const { return (limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  uint64_t low64() const { return limbs_[0]; }
  bool operator==(const Uint256&) const = default;
  bool operator<(const Uint256& other) const;
  bool operator<=(const Uint256& other) const { return !(other < *this); }

  // `this + delta`; nullopt on overflow past 2^256-1.
  std::optional<Uint256> Plus(uint64_t delta) const;
  // `hi - lo` when lo <= hi and the difference fits 64 bits; else nullopt.
  static std::optional<uint64_t> Distance(const Uint256& lo, const Uint256& hi);

 private:
  std::array<uint64_t, 4> limbs_{};  // little-endian
};

}  // namespace niftysave::eth
