#include "common/ipfs/dag_pb.h"

#include <string>
#include <utility>
#include <vector>

#include "common/ipfs/dag_pb_wire.h"
#include "common/ipfs/unixfs_importer.h"
#include "gtest/gtest.h"

namespace niftysave::ipfs {
namespace {

struct Dag {
  uri::Cid root;
  std::vector<std::pair<uri::Cid, std::string>> blocks;
  uint64_t total = 0;  // every block's bytes: what a recursive pin holds
};

Dag Import(ImportProfile profile, const std::string& content) {
  Dag dag;
  UnixfsImporter importer(std::move(profile),
                          [&](const uri::Cid& cid, absl::string_view block) {
                            dag.blocks.emplace_back(cid, std::string(block));
                            dag.total += block.size();
                            return absl::OkStatus();
                          });
  EXPECT_TRUE(importer.Update(content).ok());
  dag.root = *importer.Finish();
  return dag;
}

TEST(DagPbTest, RootSizeIsEveryBlockOfTheDag) {
  ImportProfile p = KuboProfile();
  p.chunk_size = 1000;
  p.max_links = 7;  // three levels
  const Dag dag = Import(p, std::string(123457, 'x'));
  ASSERT_GT(dag.blocks.size(), 100u);
  absl::StatusOr<uint64_t> size =
      DagSizeFromRoot(dag.root, dag.blocks.back().second);
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, dag.total);
}

TEST(DagPbTest, RawRootIsItsOwnSize) {
  const Dag dag = Import(IpfsCarProfile(), "hello world");
  ASSERT_EQ(dag.root.codec, uri::kCodecRaw);
  EXPECT_EQ(DagSizeFromRoot(dag.root, "hello world").value(), 11u);
}

TEST(DagPbTest, BlockThatDoesNotHashToTheCidIsRefused) {
  ImportProfile p = KuboProfile();
  p.chunk_size = 10;
  const Dag dag = Import(p, std::string(100, 'y'));
  std::string forged = dag.blocks.back().second;
  forged.back() ^= 1;
  EXPECT_EQ(DagSizeFromRoot(dag.root, forged).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(DagPbTest, DecodesNamesAndRefusesGarbage) {
  std::string node;
  wire::AppendLink(node, "\x01\x02", "a.png", 42);
  wire::AppendBytesField(node, wire::kPbNodeData, "\x08\x01");
  absl::StatusOr<PbNode> decoded = DecodePbNode(node);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->links.size(), 1u);
  EXPECT_EQ(decoded->links[0].name, "a.png");
  EXPECT_EQ(decoded->links[0].hash, "\x01\x02");
  EXPECT_EQ(decoded->links[0].tsize, 42u);
  EXPECT_EQ(decoded->data, "\x08\x01");
  using absl::string_view;
  EXPECT_FALSE(DecodePbNode(string_view("\x12\x7f", 2)).ok());  // past end
  EXPECT_FALSE(DecodePbNode(string_view("\x1a\x00", 2)).ok());  // field 3
  EXPECT_FALSE(DecodePbNode(string_view("\x0d\x00", 2)).ok());  // type 5
}

}  // namespace
}  // namespace niftysave::ipfs
