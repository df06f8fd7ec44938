#pragma once

// Content identifiers (https://github.com/multiformats/cid): parsing from any
// of the text forms token URIs use, validation, and the canonical form the
// records store (CIDv1, base32 lower case).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace niftysave::uri {

// Multicodec codes accepted as a CID's content type.
inline constexpr uint64_t kCodecDagPb = 0x70;
inline constexpr uint64_t kCodecRaw = 0x55;
inline constexpr uint64_t kCodecDagCbor = 0x71;
inline constexpr uint64_t kCodecLibp2pKey = 0x72;
inline constexpr uint64_t kCodecDagJson = 0x0129;
inline constexpr uint64_t kCodecJson = 0x0200;

// Multihash function codes accepted, with the digest length each requires.
inline constexpr uint64_t kHashIdentity = 0x00;      // digest length <= 128
inline constexpr uint64_t kHashSha2_256 = 0x12;      // 32
inline constexpr uint64_t kHashSha2_512 = 0x13;      // 64
inline constexpr uint64_t kHashSha3_256 = 0x16;      // 32
inline constexpr uint64_t kHashBlake2b256 = 0xb220;  // 32

struct Cid {
  uint64_t version = 1;  // 0 or 1
  uint64_t codec = kCodecDagPb;
  std::string multihash;  // varint code, varint digest length, digest

  // Binary CID; for v0 just the multihash.
  std::string Bytes() const;
  // Canonical text: CIDv1 in base32 lower case ("b..."). A v0 CID is
  // upgraded to v1 dag-pb, so both forms of one CID give one string.
  std::string ToString() const;
  // base58btc "Qm..." form; empty unless the CID is dag-pb with a sha2-256
  // multihash (the only CIDs a v0 string can express).
  std::string ToV0String() const;

  static Cid FromDigest(uint64_t version, uint64_t codec, uint64_t hash_code,
                        std::string_view digest);

  friend bool operator==(const Cid&, const Cid&) = default;
};

// Parses a CID in text form: "Qm..." (v0, base58btc, 46 characters) or a
// multibase-prefixed v1 (b/B base32, z base58btc, f/F base16, k/K base36,
// m/M base64, u base64url, U base64urlpad). InvalidArgument says what is
// wrong. Inputs longer than 512 characters are rejected.
absl::StatusOr<Cid> ParseCid(std::string_view text);

// Parses a binary CID (v0: a bare sha2-256 multihash; v1: version, codec,
// multihash). The whole input must be consumed.
absl::StatusOr<Cid> CidFromBytes(std::string_view bytes);

// Unsigned varint (multiformats/unsigned-varint): at most 9 bytes, minimally
// encoded. Exposed for tests and for other multiformats code.
std::string EncodeVarint(uint64_t value);
// Reads one varint from the front of `in` and advances it.
absl::StatusOr<uint64_t> ReadVarint(std::string_view& in);

}  // namespace niftysave::uri
