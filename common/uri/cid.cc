#include "common/uri/cid.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/uri/multibase.h"

namespace niftysave::uri {
namespace {

constexpr size_t kMaxCidTextLength = 512;
constexpr size_t kMaxVarintBytes = 9;
constexpr size_t kMaxIdentityDigest = 128;

bool IsKnownCodec(uint64_t codec) {
  switch (codec) {
    case kCodecDagPb:
    case kCodecRaw:
    case kCodecDagCbor:
    case kCodecLibp2pKey:
    case kCodecDagJson:
    case kCodecJson:
      return true;
    default:
      return false;
  }
}

// Checks a multihash's function code against its digest length.
absl::Status CheckDigestLength(uint64_t code, uint64_t length) {
  uint64_t expected = 0;
  switch (code) {
    case kHashIdentity:
      if (length > kMaxIdentityDigest) {
        return absl::InvalidArgumentError(
            absl::StrCat("cid: identity digest of ", length, " bytes exceeds ",
                         kMaxIdentityDigest));
      }
      return absl::OkStatus();
    case kHashSha2_256:
    case kHashSha3_256:
    case kHashBlake2b256:
      expected = 32;
      break;
    case kHashSha2_512:
      expected = 64;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("cid: unsupported multihash code 0x", absl::Hex(code)));
  }
  if (length != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("cid: multihash 0x", absl::Hex(code), " needs a ",
                     expected, "-byte digest, got ", length));
  }
  return absl::OkStatus();
}

// Validates a multihash that must fill `in` exactly.
absl::Status CheckMultihash(std::string_view in) {
  absl::StatusOr<uint64_t> code = ReadVarint(in);
  if (!code.ok()) return code.status();
  absl::StatusOr<uint64_t> length = ReadVarint(in);
  if (!length.ok()) return length.status();
  if (absl::Status s = CheckDigestLength(*code, *length); !s.ok()) return s;
  if (in.size() != *length) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cid: multihash declares ", *length, " digest bytes, has ", in.size()));
  }
  return absl::OkStatus();
}

bool IsSha256Multihash(std::string_view mh) {
  return mh.size() == 34 && mh[0] == '\x12' && mh[1] == '\x20';
}

}  // namespace

std::string EncodeVarint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

absl::StatusOr<uint64_t> ReadVarint(std::string_view& in) {
  uint64_t value = 0;
  for (size_t i = 0; i < kMaxVarintBytes; ++i) {
    if (i >= in.size()) {
      return absl::InvalidArgumentError("cid: truncated varint");
    }
    const auto byte = static_cast<unsigned char>(in[i]);
    value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      // A final zero byte after the first adds nothing: overlong encoding.
      if (byte == 0 && i > 0) {
        return absl::InvalidArgumentError(
            "cid: varint is not minimally encoded");
      }
      in.remove_prefix(i + 1);
      return value;
    }
  }
  return absl::InvalidArgumentError("cid: varint longer than 9 bytes");
}

std::string Cid::Bytes() const {
  if (version == 0) return multihash;
  return absl::StrCat(EncodeVarint(version), EncodeVarint(codec), multihash);
}

std::string Cid::ToString() const {
  Cid v1 = *this;
  v1.version = 1;
  return MultibaseEncode(Multibase::kBase32, v1.Bytes());
}

std::string Cid::ToV0String() const {
  if (codec != kCodecDagPb || !IsSha256Multihash(multihash)) return "";
  return EncodeBase58Btc(multihash);
}

Cid Cid::FromDigest(uint64_t version, uint64_t codec, uint64_t hash_code,
                    std::string_view digest) {
  Cid cid;
  cid.version = version;
  cid.codec = codec;
  cid.multihash = EncodeVarint(hash_code) + EncodeVarint(digest.size());
  cid.multihash.append(digest);
  return cid;
}

absl::StatusOr<Cid> CidFromBytes(std::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("cid: empty");
  // A v0 CID is a bare sha2-256 multihash (first bytes 0x12 0x20).
  if (bytes.size() >= 2 && bytes[0] == '\x12' && bytes[1] == '\x20') {
    if (bytes.size() != 34) {
      return absl::InvalidArgumentError(
          absl::StrCat("cid: v0 must be 34 bytes, got ", bytes.size()));
    }
    Cid cid;
    cid.version = 0;
    cid.codec = kCodecDagPb;
    cid.multihash = std::string(bytes);
    return cid;
  }
  std::string_view in = bytes;
  absl::StatusOr<uint64_t> version = ReadVarint(in);
  if (!version.ok()) return version.status();
  if (*version != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cid: unsupported version ", *version));
  }
  absl::StatusOr<uint64_t> codec = ReadVarint(in);
  if (!codec.ok()) return codec.status();
  if (!IsKnownCodec(*codec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cid: unsupported codec 0x", absl::Hex(*codec)));
  }
  if (absl::Status s = CheckMultihash(in); !s.ok()) return s;
  Cid cid;
  cid.version = 1;
  cid.codec = *codec;
  cid.multihash = std::string(in);
  return cid;
}

absl::StatusOr<Cid> ParseCid(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("cid: empty");
  if (text.size() > kMaxCidTextLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("cid: longer than ", kMaxCidTextLength, " characters"));
  }
  if (text.size() == 46 && text.substr(0, 2) == "Qm") {
    absl::StatusOr<std::string> bytes = DecodeBase58Btc(text);
    if (!bytes.ok()) return bytes.status();
    if (!IsSha256Multihash(*bytes)) {
      return absl::InvalidArgumentError(
          "cid: v0 text does not decode to a sha2-256 multihash");
    }
    return CidFromBytes(*bytes);
  }
  absl::StatusOr<std::string> bytes = MultibaseDecode(text);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cid: ", bytes.status().message()));
  }
  // The cid spec forbids multibase-wrapping a v0 CID, so a decoded first byte
  // of 0x12 is an error rather than CIDv18 or an implicit v0.
  if (!bytes->empty() && (*bytes)[0] == '\x12') {
    return absl::InvalidArgumentError(
        "cid: a v0 CID may not be multibase-encoded");
  }
  return CidFromBytes(*bytes);
}

}  // namespace niftysave::uri
