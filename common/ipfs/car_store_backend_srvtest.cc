// CarStoreBackend on a real directory. Root CIDs are checked against npm
// ipfs-car itself (`pack --no-wrap`), which also reads our CARs back.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/ipfs/car_store_backend.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/reason.h"
#include "gtest/gtest.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::ipfs {
namespace {

constexpr char kIpfsCar[] =
    NIFTYSAVE_NODE_TOOLS "/node_modules/ipfs-car/bin.js";

std::string LastLine(const std::string& out) {
  std::vector<std::string> lines =
      absl::StrSplit(out, '\n', absl::SkipWhitespace());
  return lines.empty() ? ""
                       : std::string(absl::StripAsciiWhitespace(lines.back()));
}

std::string MultiChunk() {  // over 1 MiB: two raw leaves under a dag-pb root
  std::string content;
  for (int i = 0; content.size() < (1 << 20) + 4096; ++i) {
    absl::StrAppend(&content, "entry ", i, "\n");
  }
  return content;
}

class CarStoreBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<harness::TempDir> dir = harness::TempDir::Create("carstore");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<harness::TempDir>(*std::move(dir));
    store_dir_ = dir_->path() + "/store";
    store_ = Open();
  }
  std::unique_ptr<CarStoreBackend> Open() {
    absl::StatusOr<std::unique_ptr<CarStoreBackend>> store =
        CarStoreBackend::Open({.dir = store_dir_});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  // The root ipfs-car computes for `content` as one file.
  std::string IpfsCarRoot(const std::string& content) {
    const std::string file = dir_->path() + "/input";
    std::ofstream(file, std::ios::binary) << content;
    const std::string car = dir_->path() + "/input.car";
    absl::StatusOr<std::string> out = harness::RunCommand(
        {"node", kIpfsCar, "pack", "--no-wrap", file, "--output", car},
        absl::Minutes(2));
    EXPECT_TRUE(out.ok()) << out.status();
    return CarRoots(car);
  }
  std::string CarRoots(const std::string& car) {
    absl::StatusOr<std::string> out =
        harness::RunCommand({"node", kIpfsCar, "roots", car}, absl::Minutes(1));
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? LastLine(*out) : "";
  }

  std::unique_ptr<harness::TempDir> dir_;
  std::string store_dir_;
  std::unique_ptr<CarStoreBackend> store_;
};

TEST_F(CarStoreBackendTest, UploadsHaveTheCidsIpfsCarComputes) {
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->upload_profile(), IpfsCarProfile().name);
  for (const std::string& content :
       {std::string("a small file"), std::string(1 << 20, 'z'), MultiChunk()}) {
    absl::StatusOr<std::string> cid = store_->Upload(content, "f");
    ASSERT_TRUE(cid.ok()) << cid.status();
    EXPECT_EQ(*cid, IpfsCarRoot(content)) << content.size() << " bytes";
    absl::StatusOr<std::string> path = store_->CarPath(*cid);
    ASSERT_TRUE(path.ok());
    EXPECT_EQ(CarRoots(*path), *cid);  // ipfs-car reads our CAR
  }
}

TEST_F(CarStoreBackendTest, PinnedSurvivesARestart) {
  ASSERT_NE(store_, nullptr);
  absl::StatusOr<std::string> cid = store_->Upload(MultiChunk(), "f");
  ASSERT_TRUE(cid.ok()) << cid.status();
  EXPECT_EQ(*store_->Status(*cid), PinState::kPinned);
  store_.reset();

  std::unique_ptr<CarStoreBackend> again = Open();
  ASSERT_NE(again, nullptr);
  absl::StatusOr<PinState> state = again->Status(*cid);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, PinState::kPinned);
  absl::StatusOr<PinReceipt> receipt = again->PinCid(*cid);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_EQ(receipt->state, PinState::kPinned);
  // No temporary files left behind.
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(store_dir_)) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{*cid + ".car"});
}

TEST_F(CarStoreBackendTest, TruncatedCarIsNotPinned) {
  ASSERT_NE(store_, nullptr);
  absl::StatusOr<std::string> cid = store_->Upload(MultiChunk(), "f");
  ASSERT_TRUE(cid.ok()) << cid.status();
  absl::StatusOr<std::string> path = store_->CarPath(*cid);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*store_->Status(*cid), PinState::kPinned);
  struct stat st;
  ASSERT_EQ(::stat(path->c_str(), &st), 0);
  ASSERT_EQ(::truncate(path->c_str(), st.st_size - 10), 0);
  // Both the instance that verified it before and a fresh one notice.
  EXPECT_EQ(*store_->Status(*cid), PinState::kFailed);
  EXPECT_EQ(*Open()->Status(*cid), PinState::kFailed);
  EXPECT_FALSE(store_->PinCid(*cid).ok());
}

// What is remembered as verified is bounded: the oldest is forgotten, and a
// forgotten CAR is read again at its next check (here it was damaged in
// place, same size, meanwhile, which only a read can see).
TEST_F(CarStoreBackendTest, RemembersABoundedNumberOfVerifiedCars) {
  absl::StatusOr<std::unique_ptr<CarStoreBackend>> store =
      CarStoreBackend::Open({.dir = store_dir_, .max_verified_cached = 2});
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<std::string> cids;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::string> cid =
        (*store)->Upload(absl::StrCat("content number ", i), "f");
    ASSERT_TRUE(cid.ok()) << cid.status();
    cids.push_back(*cid);
    EXPECT_EQ(*(*store)->Status(*cid), PinState::kPinned);
    EXPECT_LE((*store)->verified_cached(), 2u);
  }
  EXPECT_EQ((*store)->verified_cached(), 2u);
  absl::StatusOr<std::string> first = (*store)->CarPath(cids[0]);
  ASSERT_TRUE(first.ok());
  const uint64_t size = std::filesystem::file_size(*first);
  {
    std::fstream f(*first, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(size - 3));
    const char byte = static_cast<char>(f.get() ^ 0xff);
    f.seekp(static_cast<std::streamoff>(size - 3));
    f.put(byte);
  }
  ASSERT_EQ(std::filesystem::file_size(*first), size);
  EXPECT_EQ(*(*store)->Status(cids[0]), PinState::kFailed);
}

TEST_F(CarStoreBackendTest, PinCidOfAbsentContentIsFailedPrecondition) {
  ASSERT_NE(store_, nullptr);
  UnixfsImporter importer(IpfsCarProfile(), nullptr);
  ASSERT_TRUE(importer.Update("never uploaded").ok());
  const std::string absent = CidText(*importer.Finish());
  EXPECT_EQ(*store_->Status(absent), PinState::kFailed);
  absl::StatusOr<PinReceipt> receipt = store_->PinCid(absent);
  EXPECT_EQ(receipt.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(store_->Status("not-a-cid").status()), "rejected");
}

TEST_F(CarStoreBackendTest, UploadOverLimitIsRefused) {
  absl::StatusOr<std::unique_ptr<CarStoreBackend>> small =
      CarStoreBackend::Open({.dir = store_dir_, .max_upload_bytes = 4});
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(ReasonOf((*small)->Upload("12345", "f").status()), "too_large");
}

TEST_F(CarStoreBackendTest, UploadFileImportsFromTheFile) {
  const std::string content = MultiChunk() + MultiChunk();
  const std::string path = dir_->path() + "/asset.bin";
  std::ofstream(path, std::ios::binary) << content;
  absl::StatusOr<std::string> cid =
      store_->UploadFile(path, "asset.bin", content.size());
  ASSERT_TRUE(cid.ok()) << cid.status();
  ImportProfile profile = IpfsCarProfile();
  UnixfsImporter importer(profile, nullptr);
  ASSERT_TRUE(importer.Update(content).ok());
  EXPECT_EQ(*cid, CidText(*importer.Finish()));
  EXPECT_EQ(*store_->Status(*cid), PinState::kPinned);
  EXPECT_EQ(*cid, IpfsCarRoot(content));

  EXPECT_EQ(
      ReasonOf(store_->UploadFile(path, "f", content.size() - 1).status()),
      "too_large");
  EXPECT_EQ(
      ReasonOf(
          store_->UploadFile(dir_->path() + "/missing", "f", 100).status()),
      "read_failed");
  // No temporary CAR is left behind by the refusals.
  for (const auto& entry : std::filesystem::directory_iterator(store_dir_)) {
    EXPECT_EQ(entry.path().extension(), ".car") << entry.path();
    EXPECT_NE(entry.path().filename().string().substr(0, 5), ".tmp-");
  }
}

}  // namespace
}  // namespace niftysave::ipfs
