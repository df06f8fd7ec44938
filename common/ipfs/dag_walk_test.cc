#include "common/ipfs/dag_walk.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ipfs/car.h"
#include "common/ipfs/dag_pb_wire.h"
#include "common/ipfs/unixfs_directory.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/reason.h"
#include "gtest/gtest.h"

namespace niftysave::ipfs {
namespace {

// Blocks in memory, served verified like a gateway's would be, counting
// what is asked for.
class Store {
 public:
  BlockSink Sink() {
    return [this](const uri::Cid& cid, absl::string_view block) {
      blocks_[cid.ToString()] = std::string(block);
      total_ += block.size();
      return absl::OkStatus();
    };
  }
  BlockSource Source() {
    return [this](const uri::Cid& cid) -> absl::StatusOr<std::string> {
      ++fetched_;
      auto it = blocks_.find(cid.ToString());
      if (it == blocks_.end()) {
        return ErrorWithReason(absl::StatusCode::kUnavailable,
                               "gateway_timeout", "no such block");
      }
      if (absl::Status s = VerifyBlock(cid, it->second); !s.ok()) return s;
      return it->second;
    };
  }
  uri::Cid Put(const std::string& block) {
    uri::Cid cid{.version = 1,
                 .codec = uri::kCodecDagPb,
                 .multihash = absl::StrCat("\x12\x20", Sha256(block))};
    blocks_[cid.ToString()] = block;
    total_ += block.size();
    return cid;
  }
  uint64_t total() const { return total_; }
  int fetched() const { return fetched_; }

 private:
  std::map<std::string, std::string> blocks_;
  uint64_t total_ = 0;
  int fetched_ = 0;
};

struct Imported {
  uri::Cid cid;
  uint64_t tsize = 0;
};

Imported ImportInto(Store& store, ImportProfile profile,
                    const std::string& content) {
  const uint64_t before = store.total();
  UnixfsImporter importer(std::move(profile), store.Sink());
  EXPECT_TRUE(importer.Update(content).ok());
  absl::StatusOr<uri::Cid> cid = importer.Finish();
  EXPECT_TRUE(cid.ok()) << cid.status();
  return {*cid, store.total() - before};
}

// root/
//   "a b.png"  (one raw block, 500 bytes)
//   big        (a 200 KB file in 1 KB chunks)
//   sub/c.txt
class DagWalkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ImportProfile small = KuboV1Profile();
    small.chunk_size = 1000;
    a_ = ImportInto(store_, small, std::string(500, 'a'));
    big_ = ImportInto(store_, small, std::string(200000, 'b'));
    c_ = ImportInto(store_, small, "see");
    absl::StatusOr<DirectoryNode> sub =
        PutDirectory(small, {{"c.txt", c_.cid, c_.tsize}}, store_.Sink());
    ASSERT_TRUE(sub.ok()) << sub.status();
    absl::StatusOr<DirectoryNode> root =
        PutDirectory(small,
                     {{"a b.png", a_.cid, a_.tsize},
                      {"big", big_.cid, big_.tsize},
                      {"sub", sub->cid, sub->tsize}},
                     store_.Sink());
    ASSERT_TRUE(root.ok()) << root.status();
    root_ = root->cid;
  }

  Store store_;
  Imported a_, big_, c_;
  uri::Cid root_;
};

TEST_F(DagWalkTest, PathsResolveThroughDirectoriesAndPercentEscapes) {
  absl::StatusOr<DagNode> c = ResolvePath(store_.Source(), root_, "/sub/c.txt");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->cid.ToString(), c_.cid.ToString());
  absl::StatusOr<DagNode> a = ResolvePath(store_.Source(), root_, "/a%20b.png");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->cid.ToString(), a_.cid.ToString());
  absl::StatusOr<DagNode> self = ResolvePath(store_.Source(), root_, "");
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_EQ(self->cid.ToString(), root_.ToString());
}

TEST_F(DagWalkTest, WhatIsNotThereIsPathNotFound) {
  for (const char* path :
       {"/missing.png", "/sub/missing.txt", "/a%20b.png/x", "/big/0", "/SUB"}) {
    absl::StatusOr<DagNode> node = ResolvePath(store_.Source(), root_, path);
    ASSERT_FALSE(node.ok()) << path;
    EXPECT_EQ(node.status().code(), absl::StatusCode::kNotFound) << path;
    EXPECT_EQ(ReasonOf(node.status()), "path_not_found") << path;
  }
}

TEST_F(DagWalkTest, TheRootIsPinnedWhenItFits) {
  absl::StatusOr<CidPinPlan> plan =
      PlanCidPin(store_.Source(), root_, "/sub/c.txt", uint64_t{1} << 30);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->cid, root_.ToString());
  EXPECT_TRUE(plan->whole_root);
  EXPECT_EQ(plan->bytes, store_.total());  // every block of the DAG
  EXPECT_EQ(store_.fetched(), 3);          // root, sub, c.txt: once each
}

TEST_F(DagWalkTest, AnOversizedRootPinsOnlyTheAssetOrRefuses) {
  const uint64_t cap = 10000;  // over the root, over big, not over a
  absl::StatusOr<CidPinPlan> plan =
      PlanCidPin(store_.Source(), root_, "/a%20b.png", cap);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->cid, a_.cid.ToString());
  EXPECT_FALSE(plan->whole_root);
  EXPECT_EQ(plan->bytes, a_.tsize);

  for (const char* path : {"", "/big"}) {
    absl::StatusOr<CidPinPlan> refused =
        PlanCidPin(store_.Source(), root_, path, cap);
    ASSERT_FALSE(refused.ok()) << path;
    EXPECT_EQ(ReasonOf(refused.status()), "too_large") << path;
    EXPECT_NE(refused.status().message().find("--max_pin_bytes"),
              std::string::npos);
  }
}

TEST_F(DagWalkTest, ASourceFailureKeepsItsReason) {
  Store empty;
  absl::StatusOr<CidPinPlan> plan =
      PlanCidPin(empty.Source(), root_, "/a%20b.png", 1 << 20);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(ReasonOf(plan.status()), "gateway_timeout");
}

// A root whose links claim no size cannot be measured without walking the
// whole DAG: refused, not pinned blind.
TEST_F(DagWalkTest, LinksWithoutTsizeAreUnsupported) {
  std::string node;
  const std::string hash = a_.cid.Bytes();
  const size_t body = 2 + hash.size() + 2 + 1;  // Hash, Name "x", no Tsize
  wire::AppendTag(node, wire::kPbNodeLinks, wire::kBytes);
  wire::AppendVarint(node, body);
  wire::AppendBytesField(node, wire::kPbLinkHash, hash);
  wire::AppendBytesField(node, wire::kPbLinkName, "x");
  wire::AppendBytesField(node, wire::kPbNodeData, "\x08\x01");
  const uri::Cid root = store_.Put(node);
  absl::StatusOr<CidPinPlan> plan =
      PlanCidPin(store_.Source(), root, "", uint64_t{1} << 40);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(ReasonOf(plan.status()), "dag_unsupported");
}

// The pinner's cache: a second token under the same root fetches nothing
// the first one fetched; the byte cap evicts the least recently used.
TEST_F(DagWalkTest, CachedBlocksAreFetchedOnceWithinTheirByteCap) {
  CachedBlockSource cache(store_.Source(), size_t{1} << 20);
  ASSERT_TRUE(PlanCidPin(cache.AsSource(), root_, "/sub/c.txt", 1 << 30).ok());
  EXPECT_EQ(store_.fetched(), 3);
  ASSERT_TRUE(PlanCidPin(cache.AsSource(), root_, "/sub/c.txt", 1 << 30).ok());
  ASSERT_TRUE(PlanCidPin(cache.AsSource(), root_, "/a%20b.png", 1 << 30).ok());
  EXPECT_EQ(store_.fetched(), 4);  // only a.png's block was new

  // 502 bytes: a.png's block (500) fits, a.png and c.txt's (3) do not.
  CachedBlockSource tiny(store_.Source(), 502);
  ASSERT_TRUE(tiny.Get(a_.cid).ok());
  ASSERT_TRUE(tiny.Get(c_.cid).ok());
  ASSERT_TRUE(tiny.Get(c_.cid).ok());  // kept
  const int before = store_.fetched();
  ASSERT_TRUE(tiny.Get(a_.cid).ok());  // evicted by c.txt: fetched again
  EXPECT_EQ(store_.fetched(), before + 1);
  EXPECT_EQ(ReasonOf(tiny.Get(uri::Cid{}).status()), "gateway_timeout");
}

// MurmurHash3 x64 128 of "hello" with seed 0 is cbd8a7b341bd9b02
// 5b1e906a48ae1d19; the HAMT takes the first half.
TEST(HamtHashTest, IsMurmur3X64First64Bits) {
  EXPECT_EQ(HamtHash("hello"), 0xcbd8a7b341bd9b02ULL);
  EXPECT_EQ(HamtHash(""), 0u);
}

// A HAMT shard (UnixFS type 5, fanout 256): entries are "<2 hex><name>" in
// the bucket the name's hash gives at each depth, sub-shards "<2 hex>"
// alone; the entry is found one level down, one block per level.
std::string ShardData() {
  std::string data;
  wire::AppendVarintField(data, wire::kUnixfsType, 5);
  wire::AppendVarintField(data, 6, 256);  // fanout
  return data;
}

std::string Bucket(std::string_view name, int depth) {
  const uint64_t b = (HamtHash(name) >> (56 - 8 * depth)) & 0xff;
  return absl::AsciiStrToUpper(absl::StrCat(absl::Hex(b, absl::kZeroPad2)));
}

TEST_F(DagWalkTest, HamtShardsAreWalkedByTheNameHash) {
  const std::string wanted = "wanted.png";
  std::string inner;
  wire::AppendLink(inner, a_.cid.Bytes(), Bucket(wanted, 1) + wanted, a_.tsize);
  wire::AppendBytesField(inner, wire::kPbNodeData, ShardData());
  const uri::Cid inner_cid = store_.Put(inner);
  std::string outer;
  wire::AppendLink(outer, c_.cid.Bytes(), "00other.txt", c_.tsize);
  wire::AppendLink(outer, inner_cid.Bytes(), Bucket(wanted, 0),
                   a_.tsize + inner.size());
  wire::AppendBytesField(outer, wire::kPbNodeData, ShardData());
  const uri::Cid root = store_.Put(outer);

  absl::StatusOr<DagNode> found =
      ResolvePath(store_.Source(), root, "/" + wanted);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->cid.ToString(), a_.cid.ToString());
  EXPECT_EQ(store_.fetched(), 3);  // root, sub-shard, entry
  EXPECT_EQ(ReasonOf(ResolvePath(store_.Source(), root, "/nope").status()),
            "path_not_found");
  EXPECT_EQ(ReasonOf(ResolvePath(store_.Source(), root, "/" + wanted,
                                 {.max_blocks = 2})
                         .status()),
            "dag_too_wide");
}

}  // namespace
}  // namespace niftysave::ipfs
