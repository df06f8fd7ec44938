#include "common/ipfs/dag_pb.h"

#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/ipfs/car.h"
#include "common/ipfs/dag_pb_wire.h"

namespace niftysave::ipfs {
namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("dag-pb: ", what));
}

// One field: its number, and its bytes (wire type 2) or value (wire type 0).
struct Field {
  uint64_t number = 0;
  uint8_t wire_type = 0;
  std::string_view bytes;
  uint64_t value = 0;
};

absl::StatusOr<Field> ReadField(std::string_view& in) {
  absl::StatusOr<uint64_t> tag = uri::ReadVarint(in);
  if (!tag.ok()) return Malformed("truncated tag");
  Field f{.number = *tag >> 3, .wire_type = static_cast<uint8_t>(*tag & 7)};
  if (f.wire_type == wire::kVarint) {
    absl::StatusOr<uint64_t> v = uri::ReadVarint(in);
    if (!v.ok()) return Malformed("truncated varint");
    f.value = *v;
  } else if (f.wire_type == wire::kBytes) {
    absl::StatusOr<uint64_t> len = uri::ReadVarint(in);
    if (!len.ok() || *len > in.size()) return Malformed("truncated bytes");
    f.bytes = in.substr(0, *len);
    in.remove_prefix(*len);
  } else {
    return Malformed(absl::StrCat("wire type ", f.wire_type));
  }
  return f;
}

absl::StatusOr<PbLink> DecodeLink(std::string_view in) {
  PbLink link;
  while (!in.empty()) {
    absl::StatusOr<Field> f = ReadField(in);
    if (!f.ok()) return f.status();
    if (f->number == wire::kPbLinkHash && f->wire_type == wire::kBytes) {
      link.hash = std::string(f->bytes);
    } else if (f->number == wire::kPbLinkName && f->wire_type == wire::kBytes) {
      link.name = std::string(f->bytes);
    } else if (f->number == wire::kPbLinkTsize &&
               f->wire_type == wire::kVarint) {
      link.tsize = f->value;
    } else {
      return Malformed(absl::StrCat("unexpected PBLink field ", f->number));
    }
  }
  return link;
}

}  // namespace

absl::StatusOr<PbNode> DecodePbNode(absl::string_view block) {
  std::string_view in(block.data(), block.size());
  PbNode node;
  while (!in.empty()) {
    absl::StatusOr<Field> f = ReadField(in);
    if (!f.ok()) return f.status();
    if (f->wire_type != wire::kBytes) return Malformed("varint at top level");
    if (f->number == wire::kPbNodeLinks) {
      absl::StatusOr<PbLink> link = DecodeLink(f->bytes);
      if (!link.ok()) return link.status();
      node.links.push_back(*std::move(link));
    } else if (f->number == wire::kPbNodeData) {
      node.data = std::string(f->bytes);
    } else {
      return Malformed(absl::StrCat("unexpected PBNode field ", f->number));
    }
  }
  return node;
}

absl::StatusOr<UnixfsData> DecodeUnixfsData(absl::string_view data) {
  constexpr uint64_t kFanout = 6;
  std::string_view in(data.data(), data.size());
  UnixfsData out;
  while (!in.empty()) {
    absl::StatusOr<Field> f = ReadField(in);
    if (!f.ok()) return f.status();
    if (f->wire_type != wire::kVarint) continue;
    if (f->number == static_cast<uint64_t>(wire::kUnixfsType)) {
      out.type = f->value;
    } else if (f->number == kFanout) {
      out.fanout = f->value;
    }
  }
  return out;
}

absl::StatusOr<uint64_t> DagSizeFromRoot(const uri::Cid& cid,
                                         absl::string_view block) {
  if (absl::Status s = VerifyBlock(cid, block); !s.ok()) return s;
  if (cid.codec == uri::kCodecRaw) return block.size();
  if (cid.codec != uri::kCodecDagPb) {
    return absl::UnimplementedError(
        absl::StrCat("no size for codec 0x", absl::Hex(cid.codec)));
  }
  absl::StatusOr<PbNode> node = DecodePbNode(block);
  if (!node.ok()) return node.status();
  uint64_t total = block.size();
  for (const PbLink& link : node->links) {
    if (!link.tsize) {
      return absl::UnimplementedError("dag-pb link without Tsize");
    }
    // A lying Tsize near 2^64 must not wrap around to a small total.
    if (*link.tsize > UINT64_MAX - total) return UINT64_MAX;
    total += *link.tsize;
  }
  return total;
}

}  // namespace niftysave::ipfs
