// CAR v1 writer, reader and splitter on files in a temp dir.

#include "common/ipfs/car.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/ipfs/unixfs_importer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace niftysave::ipfs {
namespace {

namespace fs = std::filesystem;
using Blocks = std::vector<std::pair<std::string, std::string>>;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

class CarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("niftysave-car-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ / name; }

  // Imports `content` with small chunks so the DAG has many blocks, writing
  // through `put`; returns the root.
  static uri::Cid ImportInto(
      const std::string& content,
      const std::function<absl::Status(const uri::Cid&, absl::string_view)>&
          put,
      Blocks* blocks) {
    ImportProfile p = KuboProfile();  // CIDv0 dag-pb: the 34-byte CID case
    p.chunk_size = 1000;
    p.max_links = 10;
    UnixfsImporter importer(p, [&](const uri::Cid& cid, absl::string_view b) {
      blocks->emplace_back(cid.Bytes(), std::string(b));
      return put(cid, b);
    });
    EXPECT_TRUE(importer.Update(content).ok());
    absl::StatusOr<uri::Cid> root = importer.Finish();
    EXPECT_TRUE(root.ok()) << root.status();
    return *root;
  }

  static absl::StatusOr<Blocks> ReadAll(const std::string& path,
                                        std::vector<uri::Cid>* roots) {
    absl::StatusOr<std::unique_ptr<CarReader>> reader = CarReader::Open(path);
    if (!reader.ok()) return reader.status();
    *roots = (*reader)->roots();
    Blocks out;
    while (true) {
      absl::StatusOr<std::optional<CarBlock>> b = (*reader)->Next();
      if (!b.ok()) return b.status();
      if (!*b) return out;
      out.emplace_back((*b)->cid.Bytes(), (*b)->data);
    }
  }

  fs::path dir_;
};

TEST_F(CarTest, HeaderIsTheDagCborOfTheSpec) {
  const uri::Cid root = PlaceholderRoot(1);
  const std::string header = EncodeCarHeader({root});
  const std::string cbor =
      std::string("\xa2\x65roots\x81\xd8\x2a\x58\x25\x00", 13) + root.Bytes() +
      "\x67version\x01";
  EXPECT_EQ(header, std::string(1, static_cast<char>(cbor.size())) + cbor);
  absl::StatusOr<std::vector<uri::Cid>> roots =
      DecodeCarHeader(absl::string_view(header).substr(1));
  ASSERT_TRUE(roots.ok()) << roots.status();
  EXPECT_THAT(*roots, ::testing::ElementsAre(root));
}

TEST_F(CarTest, HeaderWithOtherVersionOrKeysIsRejected) {
  std::string v2 = EncodeCarHeader({PlaceholderRoot(0)}).substr(1);
  v2.back() = '\x02';
  EXPECT_FALSE(DecodeCarHeader(v2).ok());
  std::string key = EncodeCarHeader({PlaceholderRoot(0)}).substr(1);
  key.replace(key.find("roots"), 5, "rooty");
  EXPECT_FALSE(DecodeCarHeader(key).ok());
}

TEST_F(CarTest, WrittenCarReadsBackBlockForBlock) {
  const std::string path = Path("one.car");
  absl::StatusOr<std::unique_ptr<CarWriter>> writer =
      CarWriter::Create(path, PlaceholderRoot(0));
  ASSERT_TRUE(writer.ok()) << writer.status();
  Blocks written;
  const uri::Cid root = ImportInto(
      RandomBytes(54321, 2),
      [&](const uri::Cid& c, absl::string_view b) {
        return (*writer)->Put(c, b);
      },
      &written);
  ASSERT_TRUE((*writer)->Finish(root).ok());
  EXPECT_EQ(fs::file_size(path), (*writer)->size());

  std::vector<uri::Cid> roots;
  absl::StatusOr<Blocks> read = ReadAll(path, &roots);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(roots, ::testing::ElementsAre(root));
  EXPECT_EQ(*read, written);
}

TEST_F(CarTest, CorruptBlockAndTruncationAreDetected) {
  const std::string path = Path("bad.car");
  auto writer = CarWriter::Create(path, PlaceholderRoot(0));
  ASSERT_TRUE(writer.ok());
  Blocks written;
  const uri::Cid root = ImportInto(
      RandomBytes(5000, 3),
      [&](const uri::Cid& c, absl::string_view b) {
        return (*writer)->Put(c, b);
      },
      &written);
  ASSERT_TRUE((*writer)->Finish(root).ok());
  const auto size = fs::file_size(path);

  {  // flip one byte of the last block
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 3));
    f.put('\x5a' ^ written.back().second[written.back().second.size() - 3]);
  }
  std::vector<uri::Cid> roots;
  EXPECT_EQ(ReadAll(path, &roots).status().code(), absl::StatusCode::kDataLoss);

  fs::resize_file(path, size - 10);
  EXPECT_EQ(ReadAll(path, &roots).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CarTest, SplitPiecesAreEachValidAndTogetherComplete) {
  const std::string path = Path("split.car");
  const uint64_t max_bytes = 8000;
  CarSplitWriter splitter(path, max_bytes, PlaceholderRoot(0));
  Blocks written;
  const uri::Cid root = ImportInto(
      RandomBytes(60000, 4),
      [&](const uri::Cid& c, absl::string_view b) {
        return splitter.Put(c, b);
      },
      &written);
  absl::StatusOr<std::vector<std::string>> pieces = splitter.Finish(root);
  ASSERT_TRUE(pieces.ok()) << pieces.status();
  ASSERT_GT(pieces->size(), 5u);
  EXPECT_EQ((*pieces)[0], path + ".1");
  EXPECT_EQ((*pieces)[1], path + ".2");
  EXPECT_FALSE(fs::exists(path));

  Blocks all;
  for (const std::string& piece : *pieces) {
    SCOPED_TRACE(piece);
    EXPECT_LE(fs::file_size(piece), max_bytes);
    std::vector<uri::Cid> roots;
    absl::StatusOr<Blocks> blocks = ReadAll(piece, &roots);
    ASSERT_TRUE(blocks.ok()) << blocks.status();
    EXPECT_FALSE(blocks->empty());
    EXPECT_THAT(roots, ::testing::ElementsAre(root));
    all.insert(all.end(), blocks->begin(), blocks->end());
  }
  EXPECT_EQ(all, written);
}

TEST_F(CarTest, SmallDagStaysOneFileAndHugeBlockIsRefused) {
  const std::string path = Path("small.car");
  CarSplitWriter splitter(path, 1 << 20, PlaceholderRoot(0));
  Blocks written;
  const uri::Cid root = ImportInto(
      "tiny",
      [&](const uri::Cid& c, absl::string_view b) {
        return splitter.Put(c, b);
      },
      &written);
  absl::StatusOr<std::vector<std::string>> pieces = splitter.Finish(root);
  ASSERT_TRUE(pieces.ok()) << pieces.status();
  EXPECT_THAT(*pieces, ::testing::ElementsAre(path));

  CarSplitWriter tight(Path("tight.car"), 100, PlaceholderRoot(1));
  EXPECT_EQ(tight.Put(PlaceholderRoot(1), std::string(200, 'x')).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace niftysave::ipfs
