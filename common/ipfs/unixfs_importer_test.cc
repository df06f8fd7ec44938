// UnixFS importer without a node: known CIDs, streaming invariance, and the
// dag-pb byte layout. Cross-checks against the reference tools are in
// unixfs_crosscheck_test.cc.

#include "common/ipfs/unixfs_importer.h"

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace niftysave::ipfs {
namespace {

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

struct Imported {
  std::string root;
  std::vector<std::pair<std::string, std::string>> blocks;  // cid, bytes
};

Imported Import(const ImportProfile& profile, const std::string& content,
                size_t piece = 0) {
  Imported out;
  UnixfsImporter importer(
      profile, [&](const uri::Cid& cid, absl::string_view block) {
        out.blocks.emplace_back(CidText(cid), std::string(block));
        return absl::OkStatus();
      });
  if (piece == 0) piece = content.size() + 1;
  for (size_t i = 0; i < content.size(); i += piece) {
    EXPECT_TRUE(
        importer.Update(absl::string_view(content).substr(i, piece)).ok());
  }
  absl::StatusOr<uri::Cid> root = importer.Finish();
  EXPECT_TRUE(root.ok()) << root.status();
  if (root.ok()) out.root = CidText(*root);
  return out;
}

// Minimal dag-pb reader for layout checks: the links' CID bytes and the
// position of the Data field.
struct PbNode {
  std::vector<std::string> link_hashes;
  std::string data;
  bool data_after_links = true;
};
uint64_t ReadVarint(absl::string_view& in) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const uint8_t b = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    v |= uint64_t{b & 0x7fu} << shift;
    if (!(b & 0x80)) return v;
  }
}
PbNode DecodePbNode(absl::string_view in) {
  PbNode node;
  bool seen_data = false;
  while (!in.empty()) {
    const uint64_t tag = ReadVarint(in);
    const uint64_t len = ReadVarint(in);
    absl::string_view field = in.substr(0, len);
    in.remove_prefix(len);
    if (tag == ((2 << 3) | 2)) {
      if (seen_data) node.data_after_links = false;
      const uint64_t hash_tag = ReadVarint(field);
      EXPECT_EQ(hash_tag, (1u << 3) | 2);
      const uint64_t hash_len = ReadVarint(field);
      node.link_hashes.emplace_back(field.substr(0, hash_len));
      field.remove_prefix(hash_len);
      // Name "" then Tsize.
      EXPECT_EQ(field.substr(0, 2), absl::string_view("\x12\x00", 2));
      EXPECT_EQ(static_cast<uint8_t>(field[2]), (3u << 3) | 0);
    } else {
      EXPECT_EQ(tag, (1u << 3) | 2);
      seen_data = true;
      node.data = std::string(field);
    }
  }
  return node;
}

TEST(UnixfsImporterTest, EmptyFileMatchesTheTools) {
  EXPECT_EQ(Import(KuboProfile(), "").root,
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
  // Raw leaves: the empty raw block.
  EXPECT_EQ(Import(KuboV1Profile(), "").root,
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  EXPECT_EQ(Import(IpfsCarProfile(), "").root,
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
}

TEST(UnixfsImporterTest, SingleChunkWithRawLeavesIsTheRawBlock) {
  Imported r = Import(IpfsCarProfile(), "hello world");
  EXPECT_EQ(r.root,
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
  ASSERT_EQ(r.blocks.size(), 1u);
  EXPECT_EQ(r.blocks[0].second, "hello world");
}

TEST(UnixfsImporterTest, ResultDoesNotDependOnUpdateSizes) {
  ImportProfile p = KuboProfile();
  p.chunk_size = 1000;
  p.max_links = 7;
  const std::string content = RandomBytes(123457, 1);
  const Imported whole = Import(p, content);
  for (size_t piece : {1, 999, 1000, 1001, 65536}) {
    SCOPED_TRACE(piece);
    const Imported streamed = Import(p, content, piece);
    EXPECT_EQ(streamed.root, whole.root);
    EXPECT_EQ(streamed.blocks, whole.blocks);
  }
}

TEST(UnixfsImporterTest, BalancedTreeShapeAndLinksBeforeData) {
  ImportProfile p = KuboV1Profile();
  p.chunk_size = 1;
  p.max_links = 3;
  // 10 leaves -> 4 parents (3,3,3,1) -> 2 (3,1) -> root (2).
  const Imported r = Import(p, "0123456789");
  ASSERT_EQ(r.blocks.size(), 10u + 4u + 2u + 1u);
  EXPECT_EQ(r.blocks.back().first, r.root);  // root last
  const PbNode root = DecodePbNode(r.blocks.back().second);
  EXPECT_EQ(root.link_hashes.size(), 2u);
  EXPECT_TRUE(root.data_after_links);
  // UnixFS{Type: File, filesize: 10, blocksizes: [9, 1]}.
  EXPECT_EQ(root.data, std::string("\x08\x02\x18\x0a\x20\x09\x20\x01", 8));
}

TEST(UnixfsImporterTest, ExactlyMaxLinksChunksMakeOneParent) {
  ImportProfile p = KuboV1Profile();
  p.chunk_size = 2;
  p.max_links = 4;
  const Imported r = Import(p, "abcdefgh");
  ASSERT_EQ(r.blocks.size(), 5u);
  EXPECT_EQ(DecodePbNode(r.blocks.back().second).link_hashes.size(), 4u);
  // One more byte adds a level: root -> [full parent, parent -> leaf].
  const Imported more = Import(p, "abcdefghi");
  ASSERT_EQ(more.blocks.size(), 5u + 1u + 1u + 1u);
}

TEST(UnixfsImporterTest, DagPbLeavesCarryTheData) {
  ImportProfile p = KuboProfile();
  const Imported r = Import(p, "abc");
  ASSERT_EQ(r.blocks.size(), 1u);
  // PBNode{Data: UnixFS{Type: File, Data: "abc", filesize: 3}}.
  EXPECT_EQ(r.blocks[0].second, std::string("\x0a\x09\x08\x02\x12\x03"
                                            "abc"
                                            "\x18\x03",
                                            11));
  EXPECT_THAT(r.root, ::testing::StartsWith("Qm"));
}

TEST(UnixfsImporterTest, SinkErrorStopsTheImport) {
  UnixfsImporter importer(KuboV1Profile(),
                          [](const uri::Cid&, absl::string_view) {
                            return absl::UnavailableError("disk full");
                          });
  EXPECT_EQ(importer.Update(std::string(300000, 'x')).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(importer.Finish().status().code(), absl::StatusCode::kUnavailable);
}

TEST(UnixfsImporterTest, ProfilesByName) {
  EXPECT_EQ(ProfileByName("kubo")->cid_version, 0u);
  EXPECT_TRUE(ProfileByName("kubo-v1")->raw_leaves);
  EXPECT_EQ(ProfileByName("ipfs-car")->max_links, 1024u);
  EXPECT_EQ(ProfileByName("go").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace niftysave::ipfs
