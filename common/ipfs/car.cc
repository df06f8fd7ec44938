#include "common/ipfs/car.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ipfs/unixfs_importer.h"

namespace niftysave::ipfs {
namespace {

// Larger sections are refused: no importer makes blocks near this size.
constexpr uint64_t kMaxSectionBytes = 64ull << 20;

// CBOR (RFC 8949) heads: major type in the top 3 bits, then the argument.
constexpr uint8_t kCborUint = 0;
constexpr uint8_t kCborBytes = 2;
constexpr uint8_t kCborText = 3;
constexpr uint8_t kCborArray = 4;
constexpr uint8_t kCborMap = 5;
constexpr uint8_t kCborTag = 6;
constexpr uint64_t kCborTagCid = 42;

void AppendCborHead(std::string& out, uint8_t major, uint64_t arg) {
  const char m = static_cast<char>(major << 5);
  if (arg < 24) {
    out.push_back(static_cast<char>(m | arg));
    return;
  }
  int bytes = arg <= 0xff ? 1 : arg <= 0xffff ? 2 : arg <= 0xffffffff ? 4 : 8;
  out.push_back(static_cast<char>(m | (bytes == 1   ? 24
                                       : bytes == 2 ? 25
                                       : bytes == 4 ? 26
                                                    : 27)));
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((arg >> (8 * i)) & 0xff));
  }
}

absl::Status CborError(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("car header: ", what));
}

// Reads one head; indefinite lengths and floats are not dag-cbor here.
absl::Status ReadCborHead(absl::string_view& in, uint8_t& major,
                          uint64_t& arg) {
  if (in.empty()) return CborError("truncated");
  const uint8_t b = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  major = b >> 5;
  const uint8_t info = b & 0x1f;
  if (info < 24) {
    arg = info;
    return absl::OkStatus();
  }
  if (info > 27) return CborError("unsupported CBOR item");
  const size_t n = size_t{1} << (info - 24);
  if (in.size() < n) return CborError("truncated");
  arg = 0;
  for (size_t i = 0; i < n; ++i) arg = (arg << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(n);
  return absl::OkStatus();
}

absl::StatusOr<absl::string_view> ReadCborString(absl::string_view& in,
                                                 uint8_t want_major) {
  uint8_t major;
  uint64_t len;
  if (absl::Status s = ReadCborHead(in, major, len); !s.ok()) return s;
  if (major != want_major) return CborError("unexpected CBOR type");
  if (len > in.size()) return CborError("truncated string");
  absl::string_view s = in.substr(0, len);
  in.remove_prefix(len);
  return s;
}

// Splits the CID off the front of a section.
absl::StatusOr<uri::Cid> ReadCidPrefix(absl::string_view& in) {
  size_t length;
  if (in.size() >= 2 && in[0] == 0x12 && in[1] == 0x20) {
    length = 34;  // CIDv0: a bare sha2-256 multihash
  } else {
    std::string_view rest(in.data(), in.size());
    for (int i = 0; i < 3; ++i) {  // version, codec, hash code
      if (absl::StatusOr<uint64_t> v = uri::ReadVarint(rest); !v.ok()) {
        return v.status();
      }
    }
    absl::StatusOr<uint64_t> digest_len = uri::ReadVarint(rest);
    if (!digest_len.ok()) return digest_len.status();
    if (*digest_len > rest.size()) {
      return absl::InvalidArgumentError("car: truncated CID");
    }
    length = in.size() - rest.size() + *digest_len;
  }
  if (length > in.size()) return absl::InvalidArgumentError("car: short CID");
  absl::StatusOr<uri::Cid> cid =
      uri::CidFromBytes(std::string_view(in.data(), length));
  in.remove_prefix(length);
  return cid;
}

absl::Status IoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::Status VerifyBlock(const uri::Cid& cid, absl::string_view data) {
  std::string_view mh = cid.multihash;
  absl::StatusOr<uint64_t> code = uri::ReadVarint(mh);
  if (!code.ok()) return code.status();
  absl::StatusOr<uint64_t> len = uri::ReadVarint(mh);
  if (!len.ok()) return len.status();
  std::string expected;
  if (*code == uri::kHashSha2_256) {
    expected = Sha256(data);
  } else if (*code == uri::kHashIdentity) {
    expected = std::string(data);
  } else {
    return absl::UnimplementedError(
        absl::StrCat("car: cannot verify multihash code ", *code));
  }
  if (expected != mh) {
    return absl::DataLossError(
        absl::StrCat("car: block does not match its CID ", CidText(cid)));
  }
  return absl::OkStatus();
}

std::string EncodeCarHeader(const std::vector<uri::Cid>& roots) {
  // dag-cbor map keys sort by length first: "roots" before "version".
  std::string cbor;
  AppendCborHead(cbor, kCborMap, 2);
  AppendCborHead(cbor, kCborText, 5);
  cbor += "roots";
  AppendCborHead(cbor, kCborArray, roots.size());
  for (const uri::Cid& root : roots) {
    const std::string bytes = root.Bytes();
    AppendCborHead(cbor, kCborTag, kCborTagCid);
    AppendCborHead(cbor, kCborBytes, bytes.size() + 1);
    cbor.push_back('\0');  // the identity multibase prefix dag-cbor requires
    cbor += bytes;
  }
  AppendCborHead(cbor, kCborText, 7);
  cbor += "version";
  AppendCborHead(cbor, kCborUint, 1);
  return uri::EncodeVarint(cbor.size()) + cbor;
}

absl::StatusOr<std::vector<uri::Cid>> DecodeCarHeader(absl::string_view cbor) {
  uint8_t major;
  uint64_t entries;
  if (absl::Status s = ReadCborHead(cbor, major, entries); !s.ok()) return s;
  if (major != kCborMap) return CborError("not a map");
  std::optional<std::vector<uri::Cid>> roots;
  std::optional<uint64_t> version;
  for (uint64_t i = 0; i < entries; ++i) {
    absl::StatusOr<absl::string_view> key = ReadCborString(cbor, kCborText);
    if (!key.ok()) return key.status();
    if (*key == "version" && !version) {
      uint64_t v;
      if (absl::Status s = ReadCborHead(cbor, major, v); !s.ok()) return s;
      if (major != kCborUint) return CborError("version is not an integer");
      version = v;
    } else if (*key == "roots" && !roots) {
      uint64_t n;
      if (absl::Status s = ReadCborHead(cbor, major, n); !s.ok()) return s;
      if (major != kCborArray || n > cbor.size()) {
        return CborError("roots is not an array");
      }
      roots.emplace();
      for (uint64_t j = 0; j < n; ++j) {
        uint64_t tag;
        if (absl::Status s = ReadCborHead(cbor, major, tag); !s.ok()) return s;
        if (major != kCborTag || tag != kCborTagCid) {
          return CborError("root is not a CID (tag 42)");
        }
        absl::StatusOr<absl::string_view> b = ReadCborString(cbor, kCborBytes);
        if (!b.ok()) return b.status();
        if (b->empty() || (*b)[0] != '\0') {
          return CborError("CID without the 0x00 prefix");
        }
        absl::StatusOr<uri::Cid> cid =
            uri::CidFromBytes(std::string_view(b->data() + 1, b->size() - 1));
        if (!cid.ok()) return cid.status();
        roots->push_back(*std::move(cid));
      }
    } else {
      return CborError(absl::StrCat("unexpected key '", *key, "'"));
    }
  }
  if (!cbor.empty()) return CborError("trailing bytes");
  if (version != 1) return CborError("version is not 1");
  if (!roots) return CborError("no roots");
  return *std::move(roots);
}

uri::Cid PlaceholderRoot(uint64_t cid_version) {
  return uri::Cid::FromDigest(cid_version, uri::kCodecDagPb, uri::kHashSha2_256,
                              std::string(32, '\0'));
}

uint64_t CarSectionSize(const uri::Cid& cid, absl::string_view block) {
  const uint64_t body = cid.Bytes().size() + block.size();
  return uri::EncodeVarint(body).size() + body;
}

// --- CarWriter -------------------------------------------------------------

absl::StatusOr<std::unique_ptr<CarWriter>> CarWriter::Create(
    const std::string& path, const uri::Cid& root) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return IoError("create", path);
  const std::string header = EncodeCarHeader({root});
  std::unique_ptr<CarWriter> writer(new CarWriter(path, file, header.size()));
  writer->root_length_ = root.Bytes().size();
  if (std::fwrite(header.data(), 1, header.size(), file) != header.size()) {
    return IoError("write", path);
  }
  return writer;
}

CarWriter::~CarWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status CarWriter::Put(const uri::Cid& cid, absl::string_view block) {
  if (file_ == nullptr) return absl::FailedPreconditionError("car: closed");
  const std::string cid_bytes = cid.Bytes();
  const std::string prefix =
      uri::EncodeVarint(cid_bytes.size() + block.size()) + cid_bytes;
  if (std::fwrite(prefix.data(), 1, prefix.size(), file_) != prefix.size() ||
      std::fwrite(block.data(), 1, block.size(), file_) != block.size()) {
    return IoError("write", path_);
  }
  size_ += prefix.size() + block.size();
  ++blocks_;
  return absl::OkStatus();
}

absl::Status CarWriter::Finish(const uri::Cid& root) {
  if (file_ == nullptr) return absl::FailedPreconditionError("car: closed");
  if (root.Bytes().size() != root_length_) {
    return absl::FailedPreconditionError(
        "car: root length differs from the placeholder's");
  }
  const std::string header = EncodeCarHeader({root});
  bool ok =
      std::fseek(file_, 0, SEEK_SET) == 0 &&
      std::fwrite(header.data(), 1, header.size(), file_) == header.size() &&
      std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
  ok = std::fclose(file_) == 0 && ok;
  file_ = nullptr;
  if (!ok) return IoError("finish", path_);
  return absl::OkStatus();
}

// --- CarSplitWriter --------------------------------------------------------

CarSplitWriter::CarSplitWriter(std::string path, uint64_t max_bytes,
                               uri::Cid placeholder_root)
    : path_(std::move(path)),
      max_bytes_(max_bytes),
      placeholder_(std::move(placeholder_root)),
      header_size_(EncodeCarHeader({placeholder_}).size()) {}

CarSplitWriter::~CarSplitWriter() = default;

std::string CarSplitWriter::PiecePath(size_t index) const {
  return absl::StrCat(path_, ".", index);
}

absl::Status CarSplitWriter::StartPiece() {
  ++pieces_;
  if (current_ != nullptr) {
    if (absl::Status s = current_->Finish(placeholder_); !s.ok()) return s;
    std::string done = current_->path();
    if (pieces_ == 2) {  // the first piece is renamed once there is a second
      if (std::rename(done.c_str(), PiecePath(1).c_str()) != 0) {
        return IoError("rename", done);
      }
      done = PiecePath(1);
    }
    finished_.push_back(done);
  }
  absl::StatusOr<std::unique_ptr<CarWriter>> w = CarWriter::Create(
      pieces_ == 1 ? path_ : PiecePath(pieces_), placeholder_);
  if (!w.ok()) return w.status();
  current_ = *std::move(w);
  return absl::OkStatus();
}

absl::Status CarSplitWriter::Put(const uri::Cid& cid, absl::string_view block) {
  if (current_ == nullptr) {
    if (absl::Status s = StartPiece(); !s.ok()) return s;
  }
  const uint64_t section = CarSectionSize(cid, block);
  if (max_bytes_ > 0 && header_size_ + section > max_bytes_) {
    return absl::InvalidArgumentError(
        absl::StrCat("car: a block of ", block.size(),
                     " bytes does not fit in ", max_bytes_, "-byte pieces"));
  }
  if (max_bytes_ > 0 && current_->blocks() > 0 &&
      current_->size() + section > max_bytes_) {
    if (absl::Status s = StartPiece(); !s.ok()) return s;
  }
  return current_->Put(cid, block);
}

absl::StatusOr<std::vector<std::string>> CarSplitWriter::Finish(
    const uri::Cid& root) {
  if (current_ == nullptr) {
    if (absl::Status s = StartPiece(); !s.ok()) return s;
  }
  if (absl::Status s = current_->Finish(root); !s.ok()) return s;
  std::vector<std::string> paths = finished_;
  paths.push_back(current_->path());
  current_.reset();
  // Earlier pieces still carry the placeholder: rewrite their headers.
  const std::string header = EncodeCarHeader({root});
  for (const std::string& p : finished_) {
    std::FILE* f = std::fopen(p.c_str(), "r+b");
    if (f == nullptr) return IoError("reopen", p);
    bool ok =
        std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
        std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
    ok = std::fclose(f) == 0 && ok;
    if (!ok) return IoError("rewrite header of", p);
  }
  finished_.clear();
  return paths;
}

// --- CarReader -------------------------------------------------------------

namespace {

// Reads a varint from a stream; nullopt on a clean EOF before its first byte.
absl::StatusOr<std::optional<uint64_t>> ReadStreamVarint(std::FILE* f,
                                                         uint64_t& offset) {
  std::string bytes;
  while (true) {
    const int c = std::getc(f);
    if (c == EOF) {
      if (bytes.empty() && std::feof(f)) return std::nullopt;
      return absl::InvalidArgumentError("car: truncated varint");
    }
    ++offset;
    bytes.push_back(static_cast<char>(c));
    if ((c & 0x80) == 0) break;
    if (bytes.size() >= 9) return absl::InvalidArgumentError("car: bad varint");
  }
  std::string_view view = bytes;
  absl::StatusOr<uint64_t> v = uri::ReadVarint(view);
  if (!v.ok()) return v.status();
  return std::optional<uint64_t>(*v);
}

absl::StatusOr<std::string> ReadExactly(std::FILE* f, uint64_t n,
                                        uint64_t& offset) {
  if (n > kMaxSectionBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("car: section of ", n, " bytes at offset ", offset));
  }
  std::string out(n, '\0');
  if (std::fread(out.data(), 1, n, f) != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("car: truncated at offset ", offset));
  }
  offset += n;
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CarReader>> CarReader::Open(
    const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return IoError("open", path);
  std::unique_ptr<CarReader> reader(new CarReader(path, file));
  absl::StatusOr<std::optional<uint64_t>> len =
      ReadStreamVarint(file, reader->offset_);
  if (!len.ok()) return len.status();
  if (!*len || **len == 0) return CborError("missing");
  absl::StatusOr<std::string> cbor = ReadExactly(file, **len, reader->offset_);
  if (!cbor.ok()) return cbor.status();
  absl::StatusOr<std::vector<uri::Cid>> roots = DecodeCarHeader(*cbor);
  if (!roots.ok()) return roots.status();
  reader->roots_ = *std::move(roots);
  return reader;
}

CarReader::~CarReader() { std::fclose(file_); }

absl::StatusOr<std::optional<CarBlock>> CarReader::Next() {
  const uint64_t start = offset_;
  absl::StatusOr<std::optional<uint64_t>> len =
      ReadStreamVarint(file_, offset_);
  if (!len.ok()) return len.status();
  if (!*len) return std::nullopt;
  absl::StatusOr<std::string> section = ReadExactly(file_, **len, offset_);
  if (!section.ok()) return section.status();
  absl::string_view rest = *section;
  absl::StatusOr<uri::Cid> cid = ReadCidPrefix(rest);
  if (!cid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "car: section at offset ", start, ": ", cid.status().message()));
  }
  if (absl::Status s = VerifyBlock(*cid, rest); !s.ok()) return s;
  CarBlock block{.cid = *std::move(cid), .data = std::string(rest)};
  return std::optional<CarBlock>(std::move(block));
}

}  // namespace niftysave::ipfs
