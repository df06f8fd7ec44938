// ResourcePinner's CID check. The repository is an in-memory fake (the real
// one needs Postgres and is covered by pipeline_e2e_test); the backend is a
// fake too, because no real backend reports a wrong CID on purpose.

#include "services/pinner/resource_pinner.h"

#include <string>
#include <vector>

#include "common/fetch/content_fetcher.h"
#include "common/http/http_client.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/reason.h"
#include "gtest/gtest.h"

namespace niftysave::pinner {
namespace {

class FakeRepository final : public PinnerRepository {
 public:
  absl::StatusOr<std::pair<uint32_t, uint32_t>> Enqueue(
      const std::vector<int64_t>&) override {
    return std::pair<uint32_t, uint32_t>{0, 0};
  }
  absl::StatusOr<std::vector<db::QueueItem>> Lease(int) override {
    std::vector<db::QueueItem> items;
    if (!leased_) items.push_back({.id = 1, .attempts = 1});
    leased_ = true;
    return items;
  }
  absl::StatusOr<std::optional<ResourceToPin>> LoadResource(
      int64_t id) override {
    return ResourceToPin{.id = id,
                         .kind = "http",
                         .normalized = "https://example.com/a.json",
                         .status = "queued",
                         .stored_bytes = bytes};
  }
  absl::StatusOr<int64_t> SavePinRequested(const db::QueueItem&,
                                           const std::string& cid,
                                           const std::string&,
                                           const std::string&) override {
    pinned_cid = cid;
    return 7;
  }
  absl::Status SaveFailure(const db::QueueItem&, const PinFailure& f) override {
    failure = f;
    return absl::OkStatus();
  }
  absl::Status Retry(const db::QueueItem&, const PinFailure& f) override {
    retried = f;
    return absl::OkStatus();
  }
  bool IsLastAttempt(const db::QueueItem&) const override { return false; }
  absl::Status Drop(const db::QueueItem&) override { return absl::OkStatus(); }

  std::string bytes;
  std::string pinned_cid;
  std::optional<PinFailure> failure;
  std::optional<PinFailure> retried;

 private:
  bool leased_ = false;
};

// Answers every upload with a fixed CID.
class FixedCidBackend final : public ipfs::PinBackend {
 public:
  explicit FixedCidBackend(std::string cid) : cid_(std::move(cid)) {}
  std::string name() const override { return "fixed"; }
  absl::StatusOr<ipfs::PinReceipt> PinCid(const std::string&) override {
    return ipfs::PinReceipt{};
  }
  absl::StatusOr<std::string> Upload(absl::string_view,
                                     absl::string_view) override {
    ++uploads;
    return cid_;
  }
  absl::StatusOr<ipfs::PinState> Status(const std::string&) override {
    return ipfs::PinState::kPinned;
  }
  std::string upload_profile() const override { return "kubo-v1"; }
  int uploads = 0;

 private:
  std::string cid_;
};

std::string KuboV1Cid(const std::string& bytes) {
  ipfs::UnixfsImporter importer(ipfs::KuboV1Profile(), nullptr);
  EXPECT_TRUE(importer.Update(bytes).ok());
  return ipfs::CidText(*importer.Finish());
}

class ResourcePinnerTest : public ::testing::Test {
 protected:
  void Run(ipfs::PinBackend& backend) {
    ResourcePinner pinner(repo_, fetcher_, backend, 1, PinObserver{});
    EXPECT_EQ(pinner.Step(), 1);
  }
  http::HttpClient http_{http::HttpClientOptions{}};
  fetch::ContentFetcher fetcher_{http_, http_, fetch::FetcherOptions{}};
  FakeRepository repo_;
};

TEST_F(ResourcePinnerTest, BackendReportingOurCidIsPinned) {
  repo_.bytes = std::string(600 * 1024, 'a');  // several chunks
  FixedCidBackend backend(KuboV1Cid(repo_.bytes));
  Run(backend);
  EXPECT_FALSE(repo_.failure.has_value());
  EXPECT_EQ(repo_.pinned_cid, KuboV1Cid(repo_.bytes));
}

TEST_F(ResourcePinnerTest, BackendReportingAnotherCidIsAPermanentMismatch) {
  repo_.bytes = "{\"name\":\"token\"}";
  FixedCidBackend backend(KuboV1Cid("other bytes"));
  Run(backend);
  EXPECT_EQ(backend.uploads, 1);
  EXPECT_TRUE(repo_.pinned_cid.empty());
  EXPECT_FALSE(repo_.retried.has_value());
  ASSERT_TRUE(repo_.failure.has_value());
  EXPECT_EQ(repo_.failure->reason, "cid_mismatch");
}

TEST_F(ResourcePinnerTest, SameCidInAnotherTextFormIsNotAMismatch) {
  ipfs::UnixfsImporter importer(ipfs::KuboProfile(), nullptr);
  ASSERT_TRUE(importer.Update("v0").ok());
  absl::StatusOr<uri::Cid> cid = importer.Finish();
  ASSERT_TRUE(cid.ok());
  EXPECT_TRUE(CheckSameCid(*cid, cid->ToV0String()).ok());
  EXPECT_TRUE(CheckSameCid(*cid, cid->ToString()).ok());
  EXPECT_EQ(ReasonOf(CheckSameCid(*cid, "not a cid")), "cid_mismatch");
}

}  // namespace
}  // namespace niftysave::pinner
