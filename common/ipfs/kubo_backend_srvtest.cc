// KuboBackend against a real js-ipfs node (kubo-compatible RPC API), started
// by the harness. CIDs are checked against the node's own `add?only-hash`.

#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/ipfs/kubo_backend.h"
#include "common/ipfs/pin_backend.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/reason.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/harness/ipfs_node.h"
#include "tests/harness/net.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::ipfs {
namespace {

using ::testing::AnyOf;
using ::testing::StartsWith;

// `add` through the harness's own client (independent of the code under
// test), CIDv1 base32; `only_hash` computes the CID without storing.
absl::StatusOr<std::string> NodeAdd(const harness::IpfsNode& node,
                                    const std::string& content,
                                    const std::string& flags) {
  const std::string boundary = "kubo-backend-test-boundary";
  absl::StatusOr<harness::HttpResponse> r = harness::Fetch(
      {.method = "POST",
       .url = absl::StrCat(node.api_url(),
                           "/api/v0/add?cid-version=1&cid-base=base32", flags),
       .body = absl::StrCat(
           "--", boundary,
           "\r\nContent-Disposition: form-data; name=\"file\"; "
           "filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n",
           content, "\r\n--", boundary, "--\r\n"),
       .headers = {"Content-Type: multipart/form-data; boundary=" + boundary},
       .timeout = absl::Seconds(30)});
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::InternalError(absl::StrCat("add: HTTP ", r->status, r->body));
  }
  return nlohmann::json::parse(r->body)["Hash"].get<std::string>();
}
absl::StatusOr<std::string> OnlyHash(const harness::IpfsNode& node,
                                     const std::string& content) {
  return NodeAdd(node, content, "&only-hash=true");
}

class KuboBackendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto node = harness::IpfsNode::Start();
    status_ = new absl::Status(node.status());
    if (node.ok()) node_ = node->release();
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
    delete status_;
    status_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(status_->ok()) << *status_;
    backend_ = std::make_unique<KuboBackend>(
        http_, KuboBackend::Options{.api_url = node_->api_url(),
                                    .pin_timeout = absl::Seconds(2)});
  }

  static harness::IpfsNode* node_;
  static absl::Status* status_;
  http::HttpClient http_{http::HttpClientOptions{}};
  std::unique_ptr<KuboBackend> backend_;
};

harness::IpfsNode* KuboBackendTest::node_ = nullptr;
absl::Status* KuboBackendTest::status_ = nullptr;

TEST_F(KuboBackendTest, UploadReturnsTheNodesOwnCidV1) {
  const std::string content = "an image, more or less";
  absl::StatusOr<std::string> expected = OnlyHash(*node_, content);
  ASSERT_TRUE(expected.ok()) << expected.status();
  // A single raw leaf.
  EXPECT_THAT(*expected, StartsWith("bafk"));

  absl::StatusOr<std::string> cid = backend_->Upload(content, "image.png");
  ASSERT_TRUE(cid.ok()) << cid.status();
  EXPECT_EQ(*cid, *expected);

  absl::StatusOr<PinState> state = backend_->Status(*cid);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, PinState::kPinned);
}

TEST_F(KuboBackendTest, UploadOfMultiChunkFileMatchesToo) {
  // Over one 256 KiB chunk: a dag-pb root over raw leaves.
  std::string content;
  for (int i = 0; content.size() < 600 * 1024; ++i) {
    absl::StrAppend(&content, "line ", i, "\n");
  }
  absl::StatusOr<std::string> expected = OnlyHash(*node_, content);
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_THAT(*expected, StartsWith("bafy"));
  absl::StatusOr<std::string> cid = backend_->Upload(content, "video.gif");
  ASSERT_TRUE(cid.ok()) << cid.status();
  EXPECT_EQ(*cid, *expected);
}

// The pinner computes the CID before uploading, with the profile the backend
// names, and fails with cid_mismatch unless the node reports the same one:
// that profile must reproduce the node's CIDs for one chunk and for many.
TEST_F(KuboBackendTest, LocalCidWithUploadProfileEqualsTheNodesCid) {
  absl::StatusOr<ImportProfile> profile =
      ProfileByName(backend_->upload_profile());
  ASSERT_TRUE(profile.ok()) << profile.status();
  EXPECT_EQ(profile->name, KuboV1Profile().name);
  std::string big;
  for (int i = 0; big.size() < 3 * 262144 + 17; ++i) {
    absl::StrAppend(&big, "row ", i, " of a multi-chunk body\n");
  }
  const std::string exact(262144, 'x');  // exactly one chunk
  for (const std::string& content :
       {std::string(), std::string("small"), exact, exact + "y", big}) {
    UnixfsImporter importer(*profile, nullptr);
    ASSERT_TRUE(importer.Update(content).ok());
    absl::StatusOr<uri::Cid> local = importer.Finish();
    ASSERT_TRUE(local.ok()) << local.status();
    absl::StatusOr<std::string> uploaded = backend_->Upload(content, "body");
    ASSERT_TRUE(uploaded.ok()) << uploaded.status();
    EXPECT_EQ(CidText(*local), *uploaded) << content.size() << " bytes";
  }
}

// js-ipfs refuses a multipart part without a Content-Type: names with and
// without a known extension, and none at all, must all upload.
TEST_F(KuboBackendTest, UploadWithAnyFilename) {
  for (const char* filename : {"metadata.json", "blob", ""}) {
    const std::string content = absl::StrCat("content named ", filename);
    absl::StatusOr<std::string> expected = OnlyHash(*node_, content);
    ASSERT_TRUE(expected.ok()) << expected.status();
    absl::StatusOr<std::string> cid = backend_->Upload(content, filename);
    ASSERT_TRUE(cid.ok()) << filename << ": " << cid.status();
    EXPECT_EQ(*cid, *expected) << filename;
  }
}

TEST_F(KuboBackendTest, StatusOfNeverAddedCidIsNotPinned) {
  absl::StatusOr<std::string> absent =
      OnlyHash(*node_, "bytes this node never stored");
  ASSERT_TRUE(absent.ok()) << absent.status();
  const absl::Time begin = absl::Now();
  absl::StatusOr<PinState> state = backend_->Status(*absent);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_NE(*state, PinState::kPinned);
  EXPECT_LT(absl::Now() - begin, absl::Seconds(10));
}

TEST_F(KuboBackendTest, PinCidOfLocalContentSucceeds) {
  absl::StatusOr<std::string> cid =
      NodeAdd(*node_, "added without a pin", "&pin=false");
  ASSERT_TRUE(cid.ok()) << cid.status();
  absl::StatusOr<PinState> before = backend_->Status(*cid);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_NE(*before, PinState::kPinned);

  absl::StatusOr<PinReceipt> receipt = backend_->PinCid(*cid);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_EQ(receipt->state, PinState::kPinned);
  absl::StatusOr<PinState> after = backend_->Status(*cid);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, PinState::kPinned);
}

TEST_F(KuboBackendTest, PinCidOfAbsentContentTimesOutInsteadOfHanging) {
  absl::StatusOr<std::string> absent =
      OnlyHash(*node_, "nobody anywhere has these bytes");
  ASSERT_TRUE(absent.ok()) << absent.status();
  const absl::Time begin = absl::Now();
  absl::StatusOr<PinReceipt> receipt = backend_->PinCid(*absent);
  ASSERT_FALSE(receipt.ok());
  EXPECT_THAT(ReasonOf(receipt.status()), AnyOf("timeout", "rejected"))
      << receipt.status();
  EXPECT_LT(absl::Now() - begin, absl::Seconds(11));
}

TEST_F(KuboBackendTest, DeadApiIsBackendUnavailable) {
  KuboBackend dead(http_, {.api_url = absl::StrCat("http://127.0.0.1:",
                                                   harness::PickFreePort()),
                           .pin_timeout = absl::Seconds(2)});
  absl::StatusOr<std::string> upload = dead.Upload("x", "x.txt");
  EXPECT_EQ(ReasonOf(upload.status()), "backend_unavailable")
      << upload.status();
  absl::StatusOr<PinState> status = dead.Status("bafkqaaa");
  EXPECT_EQ(ReasonOf(status.status()), "backend_unavailable")
      << status.status();
  absl::StatusOr<PinReceipt> pin = dead.PinCid("bafkqaaa");
  EXPECT_EQ(ReasonOf(pin.status()), "backend_unavailable") << pin.status();
}

TEST_F(KuboBackendTest, UploadOverLimitIsRefusedLocally) {
  KuboBackend small(http_,
                    {.api_url = node_->api_url(), .max_upload_bytes = 10});
  EXPECT_EQ(ReasonOf(small.Upload("more than ten bytes", "x.txt").status()),
            "too_large");
}

// UploadFile streams the multipart part from the file: same CID as the
// node computes for those bytes; the limits hold before anything is sent.
TEST_F(KuboBackendTest, UploadFileStreamsFromTheFile) {
  auto dir = harness::TempDir::Create("kubo-upload-file");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::string content;
  for (int i = 0; content.size() < 3 * 1024 * 1024; ++i) {
    absl::StrAppend(&content, "streamed line ", i, "\n");
  }
  const std::string path = dir->path() + "/asset.bin";
  std::ofstream(path, std::ios::binary) << content;
  absl::StatusOr<std::string> expected = OnlyHash(*node_, content);
  ASSERT_TRUE(expected.ok()) << expected.status();
  absl::StatusOr<std::string> cid =
      backend_->UploadFile(path, "asset.bin", content.size());
  ASSERT_TRUE(cid.ok()) << cid.status();
  EXPECT_EQ(*cid, *expected);
  EXPECT_EQ(*backend_->Status(*cid), PinState::kPinned);

  EXPECT_EQ(
      ReasonOf(
          backend_->UploadFile(path, "asset.bin", content.size() - 1).status()),
      "too_large");
  KuboBackend small(http_,
                    {.api_url = node_->api_url(), .max_upload_bytes = 10});
  EXPECT_EQ(ReasonOf(small.UploadFile(path, "x", 1 << 30).status()),
            "too_large");
  EXPECT_EQ(
      ReasonOf(
          backend_->UploadFile(dir->path() + "/missing", "x", 100).status()),
      "read_failed");
}

}  // namespace
}  // namespace niftysave::ipfs
