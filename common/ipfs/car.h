#pragma once

// CAR v1 (ipld/specs, "Content Addressable aRchives"): a varint-prefixed
// dag-cbor header `{roots: [CID], version: 1}`, then one section per block:
// varint(len(CID bytes) + len(block)), CID bytes, block.
//
// The writers stream: a DAG's root is known only after its last block, so
// the header is first written with a placeholder root of the same length
// and rewritten in place by Finish().

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/uri/cid.h"

namespace niftysave::ipfs {

// The header section: varint length, then the dag-cbor map.
std::string EncodeCarHeader(const std::vector<uri::Cid>& roots);
// Parses the dag-cbor map (without the length prefix); strict: exactly the
// keys `roots` (CIDs, tag 42) and `version` (1).
absl::StatusOr<std::vector<uri::Cid>> DecodeCarHeader(absl::string_view cbor);

// OK when `data` hashes to `cid`'s multihash (sha2-256 or identity);
// DataLoss when it does not; Unimplemented for other hash functions.
absl::Status VerifyBlock(const uri::Cid& cid, absl::string_view data);

// A CID with the byte length of the root an importer with these settings
// will produce: placeholder for the header until Finish.
uri::Cid PlaceholderRoot(uint64_t cid_version);

// Bytes one block adds to a CAR.
uint64_t CarSectionSize(const uri::Cid& cid, absl::string_view block);

class CarWriter {
 public:
  // Creates (truncates) `path` and writes a header with `root`, which may be
  // a placeholder of the final root's length.
  static absl::StatusOr<std::unique_ptr<CarWriter>> Create(
      const std::string& path, const uri::Cid& root);
  ~CarWriter();
  CarWriter(const CarWriter&) = delete;
  CarWriter& operator=(const CarWriter&) = delete;

  absl::Status Put(const uri::Cid& cid, absl::string_view block);
  // Rewrites the header with the real root (same byte length as the one
  // given to Create), flushes, fsyncs and closes.
  absl::Status Finish(const uri::Cid& root);

  uint64_t size() const { return size_; }
  uint64_t blocks() const { return blocks_; }
  const std::string& path() const { return path_; }

 private:
  CarWriter(std::string path, std::FILE* file, uint64_t header_size)
      : path_(std::move(path)), file_(file), size_(header_size) {}

  std::string path_;
  std::FILE* file_;
  uint64_t size_;
  uint64_t blocks_ = 0;
  size_t root_length_ = 0;
};

// Writes one DAG into CAR files of at most `max_bytes` each (0: no limit).
// Every piece is a complete CAR v1 with the same root; together they hold
// every block once. With one piece the file is `path`; with more they are
// `path.1`, `path.2`, ... (blocks keep their order, so the root, last, is in
// the last piece).
class CarSplitWriter {
 public:
  CarSplitWriter(std::string path, uint64_t max_bytes,
                 uri::Cid placeholder_root);
  ~CarSplitWriter();

  absl::Status Put(const uri::Cid& cid, absl::string_view block);
  // Sets the real root in every piece; returns the files written.
  absl::StatusOr<std::vector<std::string>> Finish(const uri::Cid& root);

 private:
  std::string PiecePath(size_t index) const;
  absl::Status StartPiece();

  std::string path_;
  uint64_t max_bytes_;
  uri::Cid placeholder_;
  uint64_t header_size_;
  std::unique_ptr<CarWriter> current_;
  std::vector<std::string> finished_;  // closed pieces, placeholder roots
  size_t pieces_ = 0;
};

struct CarBlock {
  uri::Cid cid;
  std::string data;
};

// Reads a CAR v1 file block by block, verifying each block's hash against
// its CID (sha2-256 and identity multihashes; others are Unimplemented).
class CarReader {
 public:
  static absl::StatusOr<std::unique_ptr<CarReader>> Open(
      const std::string& path);
  ~CarReader();
  CarReader(const CarReader&) = delete;
  CarReader& operator=(const CarReader&) = delete;

  const std::vector<uri::Cid>& roots() const { return roots_; }
  // The next verified block, or nullopt at a clean end of file.
  absl::StatusOr<std::optional<CarBlock>> Next();

 private:
  CarReader(std::string path, std::FILE* file)
      : path_(std::move(path)), file_(file) {}

  std::string path_;
  std::FILE* file_;
  std::vector<uri::Cid> roots_;
  uint64_t offset_ = 0;
};

}  // namespace niftysave::ipfs
