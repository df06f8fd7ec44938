#pragma once

// The protobuf wire format by hand, for dag-pb nodes and UnixFS Data
// messages, so the bytes are exactly the dag-pb spec's (links before data,
// fields in order). Used by the file importer and the directory builder.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace niftysave::ipfs::wire {

constexpr uint8_t kVarint = 0;
constexpr uint8_t kBytes = 2;

// UnixFS Data message fields and types.
constexpr int kUnixfsType = 1;
constexpr int kUnixfsData = 2;
constexpr int kUnixfsFilesize = 3;
constexpr int kUnixfsBlocksizes = 4;
constexpr uint64_t kUnixfsDirectory = 1;
constexpr uint64_t kUnixfsFile = 2;

// dag-pb PBNode / PBLink fields. Links are serialised before Data.
constexpr int kPbNodeData = 1;
constexpr int kPbNodeLinks = 2;
constexpr int kPbLinkHash = 1;
constexpr int kPbLinkName = 2;
constexpr int kPbLinkTsize = 3;

inline void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline void AppendTag(std::string& out, int field, uint8_t wire_type) {
  out.push_back(static_cast<char>((field << 3) | wire_type));
}

inline void AppendBytesField(std::string& out, int field,
                             absl::string_view bytes) {
  AppendTag(out, field, kBytes);
  AppendVarint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

inline void AppendVarintField(std::string& out, int field, uint64_t v) {
  AppendTag(out, field, kVarint);
  AppendVarint(out, v);
}

// One PBLink{Hash, Name, Tsize} as a PBNode.Links field. The name is
// written even when empty, as the reference encoders do.
inline void AppendLink(std::string& out, absl::string_view hash,
                       absl::string_view name, uint64_t tsize) {
  const size_t body = 1 + VarintSize(hash.size()) + hash.size() + 1 +
                      VarintSize(name.size()) + name.size() + 1 +
                      VarintSize(tsize);
  AppendTag(out, kPbNodeLinks, kBytes);
  AppendVarint(out, body);
  AppendBytesField(out, kPbLinkHash, hash);
  AppendBytesField(out, kPbLinkName, name);
  AppendVarintField(out, kPbLinkTsize, tsize);
}

}  // namespace niftysave::ipfs::wire
