// CarUploadBackend against a loopback STAND-IN for an nft.storage-style CAR
// upload service (tests/harness/car_upload_standin.js): no such service runs
// here, so the stand-in follows the nft.storage HTTP API, parses every CAR
// and checks each block's hash, and reports a root pinned only once its
// whole DAG has arrived.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/ipfs/car.h"
#include "common/ipfs/car_upload_backend.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/reason.h"
#include "gtest/gtest.h"
#include "tests/harness/car_upload_standin.h"
#include "tests/harness/net.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::ipfs {
namespace {

constexpr char kToken[] = "nft-storage-token";
// One 1 MiB ipfs-car block plus its CID, prefix and the CAR header fit.
constexpr uint64_t kPieceLimit = (uint64_t{1} << 20) + 4096;

std::string CidOf(const std::string& content) {
  UnixfsImporter importer(IpfsCarProfile(), nullptr);
  EXPECT_TRUE(importer.Update(content).ok());
  return CidText(*importer.Finish());
}
std::string Pattern(size_t n, int seed = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>((i * 131 + 7 + seed) % 251);
  }
  return s;
}
std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
bool IsEmptyDir(const std::string& dir) {
  return std::filesystem::is_empty(dir);
}

class CarUploadBackendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto standin = harness::CarUploadStandin::Start(kToken, kPieceLimit);
    status_ = new absl::Status(standin.status());
    if (standin.ok()) standin_ = standin->release();
  }
  static void TearDownTestSuite() {
    delete standin_;
    standin_ = nullptr;
    delete status_;
    status_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(status_->ok()) << *status_;
    absl::StatusOr<harness::TempDir> dir = harness::TempDir::Create("carup");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<harness::TempDir>(*std::move(dir));
    std::filesystem::create_directory(dir_->path() + "/spool");
  }
  CarUploadBackend Backend(std::string token = kToken,
                           uint64_t max_car_bytes = kPieceLimit) {
    return CarUploadBackend(http_, {.endpoint = standin_->url(),
                                    .access_token = std::move(token),
                                    .max_car_bytes = max_car_bytes,
                                    .temp_dir = dir_->path() + "/spool"});
  }
  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = dir_->path() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  absl::StatusOr<harness::HttpResponse> PostCar(const std::string& bytes) {
    return harness::Fetch(
        {.method = "POST",
         .url = standin_->url() + "/upload",
         .body = bytes,
         .headers = {"Content-Type: application/car",
                     absl::StrCat("Authorization: Bearer ", kToken)}});
  }

  static harness::CarUploadStandin* standin_;
  static absl::Status* status_;
  std::unique_ptr<harness::TempDir> dir_;
  http::HttpClient http_{http::HttpClientOptions{}};
};

harness::CarUploadStandin* CarUploadBackendTest::standin_ = nullptr;
absl::Status* CarUploadBackendTest::status_ = nullptr;

TEST_F(CarUploadBackendTest, SmallUploadsReturnOurRootAndArePinned) {
  CarUploadBackend backend = Backend();
  ASSERT_EQ(backend.upload_profile(), "ipfs-car");
  // 0 B, 1 B and 1 MiB + 1 B (two 1 MiB chunks: two pieces at this limit).
  for (size_t size : {size_t{0}, size_t{1}, (size_t{1} << 20) + 1}) {
    const std::string content = Pattern(size, 1);
    const std::string expected = CidOf(content);
    absl::StatusOr<std::string> cid = backend.Upload(content, "a.bin");
    ASSERT_TRUE(cid.ok()) << size << ": " << cid.status();
    EXPECT_EQ(*cid, expected);
    cid = backend.UploadFile(WriteFile("f", content), "a.bin", size);
    ASSERT_TRUE(cid.ok()) << size << ": " << cid.status();
    EXPECT_EQ(*cid, expected);
    absl::StatusOr<PinState> state = backend.Status(expected);
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ(*state, PinState::kPinned) << size;
  }
  EXPECT_TRUE(IsEmptyDir(dir_->path() + "/spool"));  // no CAR left behind
}

TEST_F(CarUploadBackendTest, BigFileIsSplitIntoPiecesThatMakeTheWholeDag) {
  CarUploadBackend backend = Backend();
  // 5 MiB + 3 B: six leaves and a root, each piece holding one block.
  const std::string content = Pattern((size_t{5} << 20) + 3, 2);
  const std::string expected = CidOf(content);
  absl::StatusOr<std::vector<harness::CarUploadStandin::Upload>> before =
      standin_->Uploads();
  ASSERT_TRUE(before.ok());
  absl::StatusOr<std::string> cid =
      backend.UploadFile(WriteFile("big", content), "big.bin", content.size());
  ASSERT_TRUE(cid.ok()) << cid.status();
  EXPECT_EQ(*cid, expected);
  absl::StatusOr<std::vector<harness::CarUploadStandin::Upload>> after =
      standin_->Uploads();
  ASSERT_TRUE(after.ok());
  ASSERT_GT(after->size(), before->size() + 1);  // several pieces
  uint64_t blocks = 0;
  for (size_t i = before->size(); i < after->size(); ++i) {
    const auto& piece = (*after)[i];
    EXPECT_EQ(piece.root, expected);
    EXPECT_LE(piece.bytes, kPieceLimit);
    blocks += piece.blocks;
  }
  EXPECT_EQ(blocks, 7u);  // six raw leaves + the dag-pb root, each once
  // The bound a lease over the upload is built from (longest_pin_call)
  // holds for a backend whose limit is this upload.
  const CarUploadBackend sized(http_, {.endpoint = standin_->url(),
                                       .access_token = kToken,
                                       .max_car_bytes = kPieceLimit,
                                       .max_upload_bytes = content.size()});
  EXPECT_LE(after->size() - before->size(), sized.MaxPieces());
  EXPECT_EQ(sized.longest_pin_call(),
            static_cast<int64_t>(sized.MaxPieces()) * absl::Minutes(10));
  absl::StatusOr<PinState> state = backend.Status(expected);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, PinState::kPinned);
  EXPECT_TRUE(IsEmptyDir(dir_->path() + "/spool"));
}

TEST_F(CarUploadBackendTest, StandinPinsARootOnlyOnceItsWholeDagArrived) {
  const std::string content = Pattern((size_t{2} << 20) + 5, 3);
  const std::string expected = CidOf(content);
  const std::string car = dir_->path() + "/part.car";
  CarSplitWriter writer(car, kPieceLimit, PlaceholderRoot(1));
  absl::StatusOr<uri::Cid> root =
      ImportFile(WriteFile("parts", content), IpfsCarProfile(),
                 [&](const uri::Cid& cid, absl::string_view block) {
                   return writer.Put(cid, block);
                 });
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::vector<std::string>> pieces = writer.Finish(*root);
  ASSERT_TRUE(pieces.ok()) << pieces.status();
  // Leaf 1 alone; leaves 2 and 3 with the root in the last piece.
  ASSERT_EQ(pieces->size(), 2u);
  CarUploadBackend backend = Backend();
  // The root's piece first: the root is there, its first leaf is not.
  absl::StatusOr<harness::HttpResponse> r = PostCar(ReadAll(pieces->back()));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find(expected), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"pinning\""), std::string::npos) << r->body;
  EXPECT_EQ(*backend.Status(expected), PinState::kPinning);
  r = PostCar(ReadAll(pieces->front()));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(*backend.Status(expected), PinState::kPinned);
}

TEST_F(CarUploadBackendTest, StandinRejectsCarsThatDoNotVerify) {
  const std::string car = dir_->path() + "/one.car";
  CarSplitWriter writer(car, 0, PlaceholderRoot(1));
  UnixfsImporter importer(IpfsCarProfile(),
                          [&](const uri::Cid& cid, absl::string_view block) {
                            return writer.Put(cid, block);
                          });
  ASSERT_TRUE(importer.Update("some bytes to corrupt").ok());
  absl::StatusOr<uri::Cid> root = importer.Finish();
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(writer.Finish(*root).ok());
  const std::string good = ReadAll(car);

  std::string flipped = good;
  flipped.back() ^= 0x01;  // the block no longer hashes to its CID
  absl::StatusOr<harness::HttpResponse> r = PostCar(flipped);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
  r = PostCar(good.substr(0, good.size() - 3));  // truncated section
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
  r = PostCar("not a car at all");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
  r = PostCar(good);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(CarUploadBackendTest, ErrorsMapToReasons) {
  const std::string content = "error mapping";
  absl::StatusOr<std::string> denied = Backend("wrong").Upload(content, "e");
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(denied.status()), "unauthorized");

  CarUploadBackend backend = Backend();
  ASSERT_TRUE(standin_->FailNext(429, 1, 5).ok());
  absl::StatusOr<std::string> limited = backend.Upload(content, "e");
  EXPECT_EQ(ReasonOf(limited.status()), "rate_limited");
  EXPECT_TRUE(http::IsTemporary(limited.status()));
  ASSERT_TRUE(RetryAfterOf(limited.status()).has_value());
  EXPECT_EQ(*RetryAfterOf(limited.status()), absl::Seconds(5));

  ASSERT_TRUE(standin_->FailNext(502).ok());
  absl::StatusOr<PinState> down = backend.Status(CidOf(content));
  EXPECT_EQ(ReasonOf(down.status()), "backend_unavailable");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);

  // Pieces bigger than the service takes: 413 → too_large, final.
  CarUploadBackend oversized = Backend(kToken, uint64_t{4} << 20);
  absl::StatusOr<std::string> big =
      oversized.Upload(Pattern((size_t{2} << 20) + 9, 4), "big");
  EXPECT_EQ(ReasonOf(big.status()), "too_large") << big.status();
  EXPECT_FALSE(http::IsTemporary(big.status()));
  EXPECT_TRUE(IsEmptyDir(dir_->path() + "/spool"));

  // A CID the service never saw holds no pin; pinning by CID is refused.
  absl::StatusOr<PinState> unknown = backend.Status(CidOf("never uploaded"));
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_EQ(*unknown, PinState::kFailed);
  absl::StatusOr<PinReceipt> pin = backend.PinCid(CidOf("x"));
  EXPECT_EQ(pin.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ReasonOf(pin.status()), "rejected");
  EXPECT_EQ(ReasonOf(backend.Status("../etc").status()), "rejected");
}

}  // namespace
}  // namespace niftysave::ipfs
