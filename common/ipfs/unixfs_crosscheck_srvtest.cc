// Root CIDs from our importer against the reference implementations, on the
// same files: a real js-ipfs node's `add?only-hash=true` (kubo defaults,
// CIDv1 + raw leaves, other chunk sizes) and npm ipfs-car 3.x (`pack
// --no-wrap`, and the @ipld/unixfs library it packs with for layouts too
// large to test through the CLI). Also: our CARs are read back by ipfs-car
// and imported by the node (`dag/import`).

#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ipfs/car.h"
#include "common/ipfs/unixfs_directory.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/reason.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/harness/ipfs_node.h"
#include "tests/harness/net.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::ipfs {
namespace {

constexpr char kIpfsCar[] =
    NIFTYSAVE_NODE_TOOLS "/node_modules/ipfs-car/bin.js";
constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;

// ipfs-car 3.1's file encoder (raw leaves, balanced layout) with the chunk
// size and width as arguments; prints the root CID.
constexpr char kIpldUnixfsScript[] = R"js(
const T = process.env.NODE_TOOLS + '/node_modules'
const UnixFS = await import(T + '/@ipld/unixfs/src/lib.js')
const { withMaxChunkSize } = await import(T + '/@ipld/unixfs/src/file/chunker/fixed.js')
const { withWidth } = await import(T + '/@ipld/unixfs/src/file/layout/balanced.js')
const raw = await import(T + '/multiformats/src/codecs/raw.js')
const fs = await import('node:fs')
const [file, chunk, width] = process.argv.slice(-3)
const settings = UnixFS.configure({ fileChunkEncoder: raw, smallFileEncoder: raw,
  chunker: withMaxChunkSize(Number(chunk)), fileLayout: withWidth(Number(width)) })
const { readable, writable } = new TransformStream({}, UnixFS.withCapacity())
const writer = UnixFS.createWriter({ writable, settings })
const drain = (async () => { for await (const _ of readable) {} })()
const f = UnixFS.createFileWriter(writer)
for await (const c of fs.createReadStream(file)) await f.write(new Uint8Array(c))
const link = await f.close()
await writer.close()
await drain
console.log(link.cid.toString())
)js";

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteRandomFile(const std::string& path, size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string buf;
  while (size > 0) {
    buf.resize(std::min<size_t>(size, kMiB));
    for (char& c : buf) c = static_cast<char>(rng());
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    size -= buf.size();
  }
}

// The root of the last line of a command's output.
std::string LastLine(const std::string& output) {
  std::vector<std::string> lines =
      absl::StrSplit(absl::StripAsciiWhitespace(output), '\n');
  return lines.empty() ? ""
                       : std::string(absl::StripAsciiWhitespace(lines.back()));
}

class UnixfsCrosscheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto node = harness::IpfsNode::Start();
    status_ = new absl::Status(node.status());
    if (node.ok()) node_ = node->release();
    auto dir = harness::TempDir::Create("niftysave-crosscheck");
    if (dir.ok()) dir_ = new harness::TempDir(*std::move(dir));
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
    delete dir_;
    dir_ = nullptr;
    delete status_;
    status_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(status_->ok()) << *status_;
    ASSERT_NE(dir_, nullptr);
  }

  static std::string Path(const std::string& name) {
    return dir_->path() + "/" + name;
  }

  // The node's `add?only-hash=true` root for the file, with extra query.
  static absl::StatusOr<std::string> NodeOnlyHash(const std::string& path,
                                                  const std::string& query) {
    const std::string boundary = "unixfs-crosscheck-boundary";
    absl::StatusOr<harness::HttpResponse> r = harness::Fetch(
        {.method = "POST",
         .url = absl::StrCat(node_->api_url(),
                             "/api/v0/add?only-hash=true&pin=false&", query),
         .body =
             absl::StrCat("--", boundary,
                          "\r\nContent-Disposition: form-data; "
                          "name=\"file\"; filename=\"f\"\r\nContent-Type: "
                          "application/octet-stream\r\n\r\n",
                          ReadFileBytes(path), "\r\n--", boundary, "--\r\n"),
         .headers = {"Content-Type: multipart/form-data; boundary=" + boundary},
         .timeout = absl::Minutes(5)});
    if (!r.ok()) return r.status();
    if (r->status != 200) {
      return absl::InternalError(
          absl::StrCat("add: HTTP ", r->status, r->body));
    }
    // One JSON object per line; the file's entry is the last.
    return nlohmann::json::parse(LastLine(r->body))["Hash"].get<std::string>();
  }

  // `ipfs-car pack --no-wrap` (or, with wrap, its default: the file inside
  // a directory under its base name).
  static absl::StatusOr<std::string> IpfsCarRoot(const std::string& path,
                                                 bool wrap = false) {
    const std::string car = path + ".ipfs-car.car";
    std::vector<std::string> argv = {"node", kIpfsCar, "pack"};
    if (!wrap) argv.push_back("--no-wrap");
    argv.insert(argv.end(), {path, "--output", car});
    absl::StatusOr<std::string> out =
        harness::RunCommand(argv, absl::Minutes(5));
    if (!out.ok()) return out.status();
    out =
        harness::RunCommand({"node", kIpfsCar, "roots", car}, absl::Minutes(1));
    std::remove(car.c_str());
    if (!out.ok()) return out.status();
    return LastLine(*out);
  }

  static absl::StatusOr<std::string> IpldUnixfsRoot(const std::string& path,
                                                    size_t chunk,
                                                    size_t width) {
    absl::StatusOr<std::string> out = harness::RunCommand(
        {"node", "--input-type=module", "-e", kIpldUnixfsScript, "--", path,
         std::to_string(chunk), std::to_string(width)},
        absl::Minutes(5), {{"NODE_TOOLS", NIFTYSAVE_NODE_TOOLS}});
    if (!out.ok()) return out.status();
    return LastLine(*out);
  }

  static std::string Ours(const std::string& path,
                          const ImportProfile& profile) {
    absl::StatusOr<uri::Cid> root = ImportFile(path, profile, nullptr);
    EXPECT_TRUE(root.ok()) << root.status();
    return root.ok() ? CidText(*root) : "";
  }

  static std::string OursWrapped(const std::string& path,
                                 const std::string& name,
                                 const ImportProfile& profile) {
    absl::StatusOr<DirectoryNode> dir =
        ImportFileWrapped(path, name, profile, nullptr);
    EXPECT_TRUE(dir.ok()) << dir.status();
    return dir.ok() ? CidText(dir->cid) : "";
  }

  static harness::IpfsNode* node_;
  static harness::TempDir* dir_;
  static absl::Status* status_;
};

harness::IpfsNode* UnixfsCrosscheckTest::node_ = nullptr;
harness::TempDir* UnixfsCrosscheckTest::dir_ = nullptr;
absl::Status* UnixfsCrosscheckTest::status_ = nullptr;

TEST_F(UnixfsCrosscheckTest, KuboProfilesMatchTheNodesAdd) {
  const size_t chunk = 256 * kKiB;
  for (size_t size :
       {size_t{0}, size_t{1}, chunk, chunk + 1, 174 * chunk + 1}) {
    SCOPED_TRACE(absl::StrCat("size ", size));
    const std::string path = Path(absl::StrCat("kubo-", size));
    WriteRandomFile(path, size, static_cast<uint32_t>(size));
    absl::StatusOr<std::string> v0 = NodeOnlyHash(path, "cid-version=0");
    ASSERT_TRUE(v0.ok()) << v0.status();
    EXPECT_EQ(Ours(path, KuboProfile()), *v0);
    absl::StatusOr<std::string> v1 =
        NodeOnlyHash(path, "cid-version=1&cid-base=base32");
    ASSERT_TRUE(v1.ok()) << v1.status();
    EXPECT_EQ(Ours(path, KuboV1Profile()), *v1);
    std::remove(path.c_str());
  }
}

// js-ipfs's `add` takes no max-links parameter, so the 1 MiB chunks are
// checked against the node up to 174 chunks and against ipfs-car beyond.
TEST_F(UnixfsCrosscheckTest, OneMiBChunksMatchTheNodesSizeChunker) {
  for (size_t size : {size_t{1}, kMiB, kMiB + 1, 5 * kMiB + 3}) {
    SCOPED_TRACE(absl::StrCat("size ", size));
    const std::string path = Path(absl::StrCat("mib-", size));
    WriteRandomFile(path, size, static_cast<uint32_t>(size) + 7);
    absl::StatusOr<std::string> v1 = NodeOnlyHash(
        path, "cid-version=1&cid-base=base32&chunker=size-1048576");
    ASSERT_TRUE(v1.ok()) << v1.status();
    EXPECT_EQ(Ours(path, IpfsCarProfile()), *v1);
    std::remove(path.c_str());
  }
}

TEST_F(UnixfsCrosscheckTest, IpfsCarProfileMatchesIpfsCarPack) {
  for (size_t size : {size_t{0}, size_t{1}, kMiB, kMiB + 1, 5 * kMiB + 3}) {
    SCOPED_TRACE(absl::StrCat("size ", size));
    const std::string path = Path(absl::StrCat("car-", size));
    WriteRandomFile(path, size, static_cast<uint32_t>(size) + 11);
    absl::StatusOr<std::string> expected = IpfsCarRoot(path);
    ASSERT_TRUE(expected.ok()) << expected.status();
    EXPECT_EQ(Ours(path, IpfsCarProfile()), *expected);
    std::remove(path.c_str());
  }
}

// Trees of three levels, and the 1024-wide layout past one full node
// (1024 chunks + 1), with small chunks so the files stay small.
TEST_F(UnixfsCrosscheckTest, DeepAndWideTreesMatch) {
  ImportProfile deep = KuboV1Profile();
  deep.chunk_size = 256;
  const std::string deep_path = Path("deep");
  WriteRandomFile(deep_path, 174 * 174 * 256 + 1, 3);
  absl::StatusOr<std::string> node =
      NodeOnlyHash(deep_path, "cid-version=1&cid-base=base32&chunker=size-256");
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(Ours(deep_path, deep), *node);

  ImportProfile wide = IpfsCarProfile();
  wide.chunk_size = 1000;
  const std::string wide_path = Path("wide");
  for (size_t size : {size_t{1024 * 1000}, size_t{1024 * 1000 + 1}}) {
    SCOPED_TRACE(absl::StrCat("size ", size));
    WriteRandomFile(wide_path, size, 5);
    absl::StatusOr<std::string> ref = IpldUnixfsRoot(wide_path, 1000, 1024);
    ASSERT_TRUE(ref.ok()) << ref.status();
    EXPECT_EQ(Ours(wide_path, wide), *ref);
  }
}

TEST_F(UnixfsCrosscheckTest, OurCarIsReadByIpfsCarAndImportedByTheNode) {
  const std::string path = Path("for-car");
  WriteRandomFile(path, 3 * kMiB + 5, 9);
  const std::string car = Path("ours.car");
  CarSplitWriter writer(car, 0, PlaceholderRoot(1));
  absl::StatusOr<uri::Cid> root = ImportFile(
      path, IpfsCarProfile(),
      [&](const uri::Cid& c, absl::string_view b) { return writer.Put(c, b); });
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_TRUE(writer.Finish(*root).ok());

  absl::StatusOr<std::string> roots =
      harness::RunCommand({"node", kIpfsCar, "roots", car}, absl::Minutes(1));
  ASSERT_TRUE(roots.ok()) << roots.status();
  EXPECT_EQ(LastLine(*roots), CidText(*root));

  const std::string boundary = "car-import-boundary";
  absl::StatusOr<harness::HttpResponse> r = harness::Fetch(
      {.method = "POST",
       .url = absl::StrCat(node_->api_url(), "/api/v0/dag/import"),
       .body = absl::StrCat("--", boundary,
                            "\r\nContent-Disposition: form-data; "
                            "name=\"file\"; filename=\"ours.car\"\r\n"
                            "Content-Type: application/octet-stream\r\n\r\n",
                            ReadFileBytes(car), "\r\n--", boundary, "--\r\n"),
       .headers = {"Content-Type: multipart/form-data; boundary=" + boundary},
       .timeout = absl::Minutes(2)});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->body;
  // The node now has every block: `cat` gives the file back.
  absl::StatusOr<harness::HttpResponse> cat = harness::Fetch(
      {.method = "POST",
       .url = absl::StrCat(node_->api_url(),
                           "/api/v0/cat?timeout=20s&arg=", CidText(*root)),
       .timeout = absl::Minutes(1)});
  ASSERT_TRUE(cat.ok()) << cat.status();
  ASSERT_EQ(cat->status, 200) << cat->body.substr(0, 300);
  EXPECT_TRUE(cat->body == ReadFileBytes(path)) << "cat differs";
}

TEST_F(UnixfsCrosscheckTest, SplitPiecesAreEachImportedByTheNode) {
  const std::string path = Path("for-split");
  WriteRandomFile(path, 5 * kMiB + 123, 10);
  const std::string car = Path("split.car");
  CarSplitWriter writer(car, 2 * kMiB + 4 * kKiB, PlaceholderRoot(1));
  absl::StatusOr<uri::Cid> root = ImportFile(
      path, IpfsCarProfile(),
      [&](const uri::Cid& c, absl::string_view b) { return writer.Put(c, b); });
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::vector<std::string>> pieces = writer.Finish(*root);
  ASSERT_TRUE(pieces.ok()) << pieces.status();
  ASSERT_EQ(pieces->size(), 3u);
  for (const std::string& piece : *pieces) {
    SCOPED_TRACE(piece);
    absl::StatusOr<std::string> roots = harness::RunCommand(
        {"node", kIpfsCar, "roots", piece}, absl::Minutes(1));
    ASSERT_TRUE(roots.ok()) << roots.status();
    EXPECT_EQ(LastLine(*roots), CidText(*root));
    const std::string boundary = "car-piece-boundary";
    // pin-roots=false: a piece alone does not hold the whole DAG.
    absl::StatusOr<harness::HttpResponse> r = harness::Fetch(
        {.method = "POST",
         .url = absl::StrCat(node_->api_url(),
                             "/api/v0/dag/import?pin-roots=false"),
         .body =
             absl::StrCat("--", boundary,
                          "\r\nContent-Disposition: form-data; "
                          "name=\"file\"; filename=\"p.car\"\r\n"
                          "Content-Type: application/octet-stream\r\n\r\n",
                          ReadFileBytes(piece), "\r\n--", boundary, "--\r\n"),
         .headers = {"Content-Type: multipart/form-data; boundary=" + boundary},
         .timeout = absl::Minutes(2)});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->status, 200) << r->body;
  }
  absl::StatusOr<harness::HttpResponse> cat = harness::Fetch(
      {.method = "POST",
       .url = absl::StrCat(node_->api_url(),
                           "/api/v0/cat?timeout=20s&arg=", CidText(*root)),
       .timeout = absl::Minutes(1)});
  ASSERT_TRUE(cat.ok()) << cat.status();
  ASSERT_EQ(cat->status, 200) << cat->body.substr(0, 300);
  EXPECT_TRUE(cat->body == ReadFileBytes(path)) << "cat differs";
}

// wrap-with-directory, against ipfs-car (which wraps by default, naming the
// entry after the file's base name). js-ipfs 0.66's HTTP `add` is no
// reference here: it drops the multipart filename, so its wrapper is an
// empty directory.
TEST_F(UnixfsCrosscheckTest, WrappedFilesMatchIpfsCar) {
  for (size_t size : {size_t{0}, size_t{1}, kMiB + 1, 4 * kMiB + 1}) {
    SCOPED_TRACE(absl::StrCat("size ", size));
    const std::string name = absl::StrCat("wrapped-", size, ".bin");
    const std::string path = Path(name);
    WriteRandomFile(path, size, static_cast<uint32_t>(size) + 21);
    absl::StatusOr<std::string> car = IpfsCarRoot(path, /*wrap=*/true);
    ASSERT_TRUE(car.ok()) << car.status();
    EXPECT_EQ(OursWrapped(path, name, IpfsCarProfile()), *car);
    // Not the bare file's CID: the directory is a node of its own.
    EXPECT_NE(*car, Ours(path, IpfsCarProfile()));
    std::remove(path.c_str());
  }
}

TEST(UnixfsDirectoryTest, RefusesBadNamesAndShardSizedDirectories) {
  const uri::Cid cid = uri::Cid::FromDigest(
      1, uri::kCodecRaw, uri::kHashSha2_256, std::string(32, 'x'));
  for (const char* bad : {"", ".", "..", "a/b"}) {
    SCOPED_TRACE(bad);
    absl::StatusOr<DirectoryNode> dir =
        PutDirectory(IpfsCarProfile(), {{.name = bad, .cid = cid}}, nullptr);
    ASSERT_FALSE(dir.ok());
    EXPECT_EQ(ReasonOf(dir.status()), "uri_invalid");
  }
  absl::StatusOr<DirectoryNode> twice = PutDirectory(
      IpfsCarProfile(), {{.name = "a", .cid = cid}, {.name = "a", .cid = cid}},
      nullptr);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(ReasonOf(twice.status()), "uri_invalid");
  std::vector<DirectoryEntry> many;
  for (int i = 0; i < 3000; ++i) {
    many.push_back({.name = absl::StrCat(std::string(60, 'n'), i), .cid = cid});
  }
  absl::StatusOr<DirectoryNode> sharded =
      PutDirectory(IpfsCarProfile(), many, nullptr);
  ASSERT_FALSE(sharded.ok());
  EXPECT_EQ(ReasonOf(sharded.status()), "too_large");
  many.resize(100);
  EXPECT_TRUE(PutDirectory(IpfsCarProfile(), many, nullptr).ok());
}

// The issue's large cross-check: one random 300 MB file, identical roots
// from our engine, npm ipfs-car and the node.
TEST_F(UnixfsCrosscheckTest, ThreeHundredMegabyteFileMatches) {
  const std::string path = Path("300mb");
  WriteRandomFile(path, size_t{300} * 1000 * 1000, 300);
  absl::StatusOr<std::string> car = IpfsCarRoot(path);
  ASSERT_TRUE(car.ok()) << car.status();
  EXPECT_EQ(Ours(path, IpfsCarProfile()), *car);
  absl::StatusOr<std::string> v1 =
      NodeOnlyHash(path, "cid-version=1&cid-base=base32");
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(Ours(path, KuboV1Profile()), *v1);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace niftysave::ipfs
