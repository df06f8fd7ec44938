#include "common/eth/uint256.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace niftysave::eth {

absl::StatusOr<Uint256> Uint256::FromHex(absl::string_view hex) {
  if (absl::StartsWith(hex, "0x") || absl::StartsWith(hex, "0X")) {
    hex.remove_prefix(2);
  }
  if (hex.empty()) return absl::InvalidArgumentError("empty hex number");
  if (hex.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("hex number over 256 bits (", hex.size(), " digits)"));
  }
  Uint256 out;
  for (size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[hex.size() - 1 - i];
    uint64_t nibble;
    if (c >= '0' && c <= '9') {
      nibble = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      nibble = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      nibble = c - 'A' + 10;
    } else {
      return absl::InvalidArgumentError("bad hex digit in number");
    }
    out.limbs_[i / 16] |= nibble << (4 * (i % 16));
  }
  return out;
}

absl::StatusOr<Uint256> Uint256::FromDecimal(absl::string_view decimal) {
  if (decimal.empty() || decimal.size() > 78) {
    return absl::InvalidArgumentError("decimal uint256 must have 1-78 digits");
  }
  Uint256 out;
  for (char c : decimal) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError("bad decimal digit in number");
    }
    // out = out * 10 + digit, detecting overflow past 2^256.
    unsigned __int128 carry = static_cast<unsigned>(c - '0');
    for (uint64_t& limb : out.limbs_) {
      unsigned __int128 v = static_cast<unsigned __int128>(limb) * 10 + carry;
      limb = static_cast<uint64_t>(v);
      carry = v >> 64;
    }
    if (carry != 0) return absl::InvalidArgumentError("number over 2^256-1");
  }
  return out;
}

std::string Uint256::ToDecimal() const {
  if (IsZero()) return "0";
  std::array<uint64_t, 4> n = limbs_;
  std::string digits;
  auto nonzero = [&] { return (n[0] | n[1] | n[2] | n[3]) != 0; };
  while (nonzero()) {
    // Divide by 10^18 per round: 4 limbs, 128-bit intermediate.
    constexpr uint64_t kChunk = 1000000000000000000ULL;
    unsigned __int128 rem = 0;
    for (int i = 3; i >= 0; --i) {
      unsigned __int128 cur = (rem << 64) | n[i];
      n[i] = static_cast<uint64_t>(cur / kChunk);
      rem = cur % kChunk;
    }
    uint64_t r = static_cast<uint64_t>(rem);
    for (int d = 0; d < 18; ++d) {
      digits.push_back(static_cast<char>('0' + r % 10));
      r /= 10;
    }
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::reverse(digits.begin(), digits.end());
  return digits;
}

std::string Uint256::ToHex64() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (int i = 0; i < 64; ++i) {
    out[63 - i] = kDigits[(limbs_[i / 16] >> (4 * (i % 16))) & 0xf];
  }
  return out;
}

bool Uint256::operator<(const Uint256& other) const {
  for (int i = 3; i >= 0; --i) {
    if (limbs_[i] != other.limbs_[i]) return limbs_[i] < other.limbs_[i];
  }
  return false;
}

std::optional<Uint256> Uint256::Plus(uint64_t delta) const {
  Uint256 out = *this;
  uint64_t carry = delta;
  for (int i = 0; i < 4 && carry != 0; ++i) {
    const uint64_t before = out.limbs_[i];
    out.limbs_[i] += carry;
    carry = out.limbs_[i] < before ? 1 : 0;
  }
  if (carry != 0) return std::nullopt;
  return out;
}

std::optional<uint64_t> Uint256::Distance(const Uint256& lo,
                                          const Uint256& hi) {
  if (hi < lo) return std::nullopt;
  // hi - lo with borrow, limb by limb.
  std::array<uint64_t, 4> d{};
  uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const uint64_t a = hi.limbs_[i], b = lo.limbs_[i];
    d[i] = a - b - borrow;
    borrow = (a < b || (a == b && borrow != 0)) ? 1 : 0;
  }
  if ((d[1] | d[2] | d[3]) != 0) return std::nullopt;
  return d[0];
}

}  // namespace niftysave::eth
