// ResourcePinner's CID check. The repository is an in-memory fake (the real
// one needs Postgres and is covered by pipeline_e2e_test); the backend is a
// fake too, because no real backend reports a wrong CID on purpose.

#include "services/pinner/resource_pinner.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/fetch/content_fetcher.h"
#include "common/http/http_client.h"
#include "common/ipfs/backend_factory.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/reason.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace niftysave::pinner {
namespace {

// A pin the fake holds: one per (CID, backend).
struct ExistingPin {
  std::string cid;
  std::string backend;
  std::string status;
  bool operator<(const ExistingPin& o) const {
    return std::tie(cid, backend) < std::tie(o.cid, o.backend);
  }
};

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
  void KeepHolding(const std::vector<db::QueueItem>& items) override {
    kept_holding += static_cast<int>(items.size());
  }
  absl::StatusOr<std::map<int64_t, ResourceToPin>> LoadResources(
      const std::vector<int64_t>& ids) override {
    std::map<int64_t, ResourceToPin> out;
    for (int64_t id : ids) out[id] = **LoadResource(id);
    return out;
  }
  absl::StatusOr<std::optional<ResourceToPin>> LoadResource(
      int64_t id) override {
    if (!cid.empty()) {
      return ResourceToPin{.id = id,
                           .kind = "ipfs",
                           .normalized = "ipfs://" + cid,
                           .cid = cid,
                           .status = "queued"};
    }
    return ResourceToPin{.id = id,
                         .kind = "http",
                         .normalized = "https://example.com/a.json",
                         .status = "queued",
                         .stored_bytes = bytes};
  }
  absl::StatusOr<PinClaim> ClaimPin(const db::QueueItem&,
                                    const std::string& cid,
                                    const std::string& backend) override {
    if (pins.count({cid, backend, ""}) > 0) return PinClaim::kPinned;
    if (busy.count(backend) > 0) {
      if (busy_claims > 0 && --busy_claims == 0) {
        busy.erase(backend);  // the holder recorded its pin
        pins.insert({cid, backend, "pinning"});
        return PinClaim::kPinned;
      }
      return PinClaim::kBusy;
    }
    ++claims;
    return PinClaim::kClaimed;
  }
  absl::Status ReleasePin(const db::QueueItem&, const std::string&,
                          const std::string&) override {
    ++releases;
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> SavePin(const std::string& cid,
                                  const std::string& backend,
                                  const std::string&) override {
    pins.insert({cid, backend, "pinning"});
    ++saved_pins;
    return static_cast<int64_t>(pins.size());
  }
  absl::StatusOr<std::vector<SavedPinning>> SaveResourcesPinning(
      const std::vector<ResourcePinning>& batch) override {
    ++batch_saves;
    if (failing_batch_saves > 0) {
      --failing_batch_saves;
      return absl::UnavailableError("connection lost");
    }
    std::vector<SavedPinning> saved(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      for (const NewPin& p : batch[i].new_pins) {
        saved[i].pin_ids.push_back(*SavePin(p.cid, p.backend, p.request_id));
      }
      pinned_cid = batch[i].cid;
    }
    return saved;
  }
  absl::Status SaveFailure(const db::QueueItem&, const PinFailure& f) override {
    failure = f;
    return absl::OkStatus();
  }
  absl::Status Retry(const db::QueueItem&, const PinFailure& f) override {
    retried = f;
    return absl::OkStatus();
  }
  bool IsLastAttempt(const db::QueueItem&) const override {
    return last_attempt;
  }
  absl::Status Drop(const db::QueueItem&) override { return absl::OkStatus(); }
  void Replay() { leased_ = false; }

  std::string bytes;
  std::string cid;  // when set, the resource is ipfs://<cid>
  std::set<ExistingPin> pins;
  std::set<std::string> busy;  // backends claimed under another lease
  int busy_claims = 0;  // when > 0: busy for this many claims, then pinned
  bool last_attempt = false;
  int claims = 0;
  int kept_holding = 0;  // items KeepHolding was told of
  int releases = 0;
  int saved_pins = 0;
  int batch_saves = 0;
  int failing_batch_saves = 0;  // the next this many fail
  std::string pinned_cid;
  std::optional<PinFailure> failure;
  std::optional<PinFailure> retried;

 private:
  bool leased_ = false;
};

// Answers every upload with a fixed CID (or, with an empty one, the CID the
// bytes really have), or with a scripted error.
class FixedCidBackend final : public ipfs::PinBackend {
 public:
  explicit FixedCidBackend(std::string cid, std::string name = "fixed")
      : cid_(std::move(cid)), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  absl::StatusOr<ipfs::PinReceipt> PinCid(const std::string&) override {
    ++pins;
    if (!error.ok()) return error;
    return ipfs::PinReceipt{};
  }
  absl::StatusOr<std::string> Upload(absl::string_view bytes,
                                     absl::string_view) override;
  absl::StatusOr<ipfs::PinState> Status(const std::string&) override {
    return ipfs::PinState::kPinned;
  }
  std::string upload_profile() const override { return "kubo-v1"; }
  absl::Duration longest_pin_call() const override { return longest_call; }
  absl::Duration longest_status_call() const override { return longest_call; }
  absl::Duration longest_call = absl::Seconds(1);
  int uploads = 0;
  int pins = 0;
  absl::Status error;

 private:
  std::string cid_;
  std::string name_;
};

std::string KuboV1Cid(const std::string& bytes) {
  ipfs::UnixfsImporter importer(ipfs::KuboV1Profile(), nullptr);
  EXPECT_TRUE(importer.Update(bytes).ok());
  return ipfs::CidText(*importer.Finish());
}

absl::StatusOr<std::string> FixedCidBackend::Upload(absl::string_view bytes,
                                                    absl::string_view) {
  ++uploads;
  if (!error.ok()) return error;
  return cid_.empty() ? KuboV1Cid(std::string(bytes)) : cid_;
}

class ResourcePinnerTest : public ::testing::Test {
 protected:
  void Run(ipfs::PinBackend& backend) { Run({&backend}, 1); }
  void Run(std::vector<ipfs::PinBackend*> backends, int replication) {
    PinObserver observer;
    observer.finished = [this](const std::string& backend,
                               const std::string& outcome,
                               const std::string& reason) {
      outcomes_.push_back(backend + ":" + outcome +
                          (reason.empty() ? "" : ":" + reason));
    };
    // The only block pinned by CID here: a raw CID's block is its bytes.
    auto blocks = [](const uri::Cid&) -> absl::StatusOr<std::string> {
      return std::string("pinned by cid");
    };
    ResourcePinner pinner(repo_, fetcher_, blocks, std::move(backends),
                          {.batch_size = 1,
                           .replication = replication,
                           .claim_wait = absl::Seconds(5),
                           .claim_poll = absl::Milliseconds(1)},
                          observer);
    EXPECT_EQ(pinner.Step(), 1);
  }
  std::vector<std::string> outcomes_;
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

// The batch's transaction fails: the resource is recorded alone. When that
// fails too, its pin is still recorded on its own (the item comes back when
// its lease runs out and finds it), and nothing is marked failed or retried.
TEST_F(ResourcePinnerTest,
       ABatchThatCannotBeRecordedIsRecordedAloneThenItsPins) {
  repo_.bytes = std::string(1000, 'f');
  FixedCidBackend backend("");
  repo_.failing_batch_saves = 1;
  Run(backend);
  EXPECT_EQ(repo_.batch_saves, 2);  // together, then alone
  EXPECT_EQ(repo_.pinned_cid, KuboV1Cid(repo_.bytes));
  EXPECT_EQ(repo_.saved_pins, 1);

  FakeRepository again;
  again.bytes = repo_.bytes;
  again.failing_batch_saves = 2;
  ResourcePinner pinner(
      again, fetcher_,
      [](const uri::Cid&) -> absl::StatusOr<std::string> { return ""; },
      {&backend}, {.batch_size = 1}, PinObserver{});
  EXPECT_EQ(pinner.Step(), 1);
  EXPECT_EQ(again.batch_saves, 2);
  EXPECT_TRUE(again.pinned_cid.empty());  // the outcome was not recorded
  EXPECT_EQ(again.saved_pins, 1);         // the pin was
  EXPECT_FALSE(again.failure.has_value());
  EXPECT_FALSE(again.retried.has_value());
  EXPECT_EQ(backend.uploads, 2);
}

absl::Status Unavailable(int retry_after_seconds) {
  absl::Status s = ErrorWithReason(absl::StatusCode::kUnavailable,
                                   "rate_limited", "slow down");
  return retry_after_seconds > 0
             ? WithRetryAfter(s, absl::Seconds(retry_after_seconds))
             : s;
}

TEST_F(ResourcePinnerTest, ReplicatesOnTheFirstBackendsThatAccept) {
  repo_.bytes = std::string(300 * 1024, 'r');
  FixedCidBackend refusing("", "a"), b("", "b"), c("", "c"), d("", "d");
  refusing.error = ErrorWithReason(absl::StatusCode::kInvalidArgument,
                                   "rejected", "no thanks");
  Run({&refusing, &b, &c, &d}, 2);
  EXPECT_EQ(repo_.pinned_cid, KuboV1Cid(repo_.bytes));
  EXPECT_FALSE(repo_.failure.has_value());
  EXPECT_FALSE(repo_.retried.has_value());
  EXPECT_EQ(d.uploads, 0);  // two were enough
  EXPECT_THAT(outcomes_, ::testing::ElementsAre("a:failed:rejected",
                                                "b:requested", "c:requested"));
  // Replayed: nobody is asked twice, no pin is added.
  repo_.Replay();
  outcomes_.clear();
  Run({&refusing, &b, &c, &d}, 2);
  EXPECT_EQ(b.uploads + c.uploads + d.uploads, 2);
  EXPECT_EQ(repo_.saved_pins, 2);
  EXPECT_THAT(outcomes_, ::testing::ElementsAre("a:failed:rejected", "b:exists",
                                                "c:exists"));
}

TEST_F(ResourcePinnerTest, TemporaryFailureIsRetriedAfterRetryAfter) {
  repo_.cid = KuboV1Cid("pinned by cid");
  FixedCidBackend limited("", "a"), ok("", "b");
  limited.error = Unavailable(90);
  // Replication 2 of 2: one accepted, the other asked us to wait 90 s.
  Run({&limited, &ok}, 2);
  ASSERT_TRUE(repo_.retried.has_value());
  EXPECT_EQ(repo_.retried->reason, "rate_limited");
  EXPECT_EQ(repo_.retried->retry_after, absl::Seconds(90));
  EXPECT_TRUE(repo_.pinned_cid.empty());
  EXPECT_EQ(repo_.saved_pins, 1);  // b's pin is recorded already
  // The retry asks only the backend still missing.
  limited.error = absl::OkStatus();
  repo_.Replay();
  repo_.retried.reset();
  Run({&limited, &ok}, 2);
  EXPECT_EQ(ok.pins, 1);
  EXPECT_EQ(limited.pins, 2);
  EXPECT_EQ(repo_.pinned_cid, repo_.cid);
  EXPECT_FALSE(repo_.retried.has_value());
}

TEST_F(ResourcePinnerTest, TemporaryFailureWithEnoughOthersIsNotRetried) {
  repo_.cid = KuboV1Cid("pinned by cid");
  FixedCidBackend down("", "a"), ok("", "b");
  down.error = Unavailable(0);
  Run({&down, &ok}, 1);
  EXPECT_EQ(repo_.pinned_cid, repo_.cid);
  EXPECT_FALSE(repo_.retried.has_value());
}

TEST_F(ResourcePinnerTest, EveryBackendRefusingFailsWithTheFirstReason) {
  repo_.cid = KuboV1Cid("pinned by cid");
  FixedCidBackend a("", "a"), b("", "b");
  a.error = ErrorWithReason(absl::StatusCode::kPermissionDenied, "unauthorized",
                            "bad token");
  b.error =
      ErrorWithReason(absl::StatusCode::kInvalidArgument, "rejected", "no");
  Run({&a, &b}, 1);
  ASSERT_TRUE(repo_.failure.has_value());
  EXPECT_EQ(repo_.failure->reason, "unauthorized");
  EXPECT_FALSE(repo_.retried.has_value());
}

TEST_F(ResourcePinnerTest, ACidClaimedUnderAnotherLeaseIsNotAskedTwice) {
  repo_.cid = KuboV1Cid("pinned by cid");
  FixedCidBackend backend("", "a");
  repo_.busy.insert("a");  // another replica is asking `a` for this CID
  Run(backend);
  EXPECT_EQ(backend.pins, 0);
  ASSERT_TRUE(repo_.retried.has_value());
  EXPECT_EQ(repo_.retried->reason, "pin_in_flight");
  EXPECT_THAT(outcomes_, ::testing::ElementsAre("a:retry:pin_in_flight"));
  // The other replica recorded its pin: the retry completes through it.
  repo_.pins.insert({repo_.cid, "a", "pinning"});
  repo_.Replay();
  repo_.retried.reset();
  Run(backend);
  EXPECT_EQ(backend.pins, 0);
  EXPECT_EQ(repo_.pinned_cid, repo_.cid);
  EXPECT_FALSE(repo_.retried.has_value());
}

TEST_F(ResourcePinnerTest, OnTheLastAttemptAClaimedCidIsWaitedFor) {
  repo_.cid = KuboV1Cid("pinned by cid");
  FixedCidBackend backend("", "a");
  repo_.busy.insert("a");
  repo_.busy_claims = 3;  // the holder records its pin while we wait
  repo_.last_attempt = true;
  Run(backend);
  EXPECT_EQ(backend.pins, 0);
  EXPECT_FALSE(repo_.failure.has_value());
  EXPECT_FALSE(repo_.retried.has_value());
  EXPECT_EQ(repo_.pinned_cid, repo_.cid);
  EXPECT_THAT(outcomes_, ::testing::ElementsAre("a:exists"));
}

TEST_F(ResourcePinnerTest, ARefusedRequestReleasesItsClaim) {
  repo_.cid = KuboV1Cid("pinned by cid");
  FixedCidBackend backend("", "a");
  backend.error = Unavailable(0);
  Run(backend);
  EXPECT_EQ(repo_.claims, 1);
  EXPECT_EQ(repo_.releases, 1);
}

// The heartbeat renews a batch's leases for as long as one resource may
// take after the last progress: with 32 workers, 8 downloads a host and a
// 120 s fetch timeout its download waits up to three other downloads' worth
// for a host slot; then each backend's longest call after a claim wait:
// 4 * 120 + (150 + 120) + 60 = 810 s with one backend whose calls end
// within 120 s.
TEST(LongestResourceTest, CoversTheHostLineTheDownloadAndEveryBackend) {
  PinnerOptions options{.max_per_host = 8, .claim_wait = absl::Seconds(150)};
  FixedCidBackend pins("");
  pins.longest_call = absl::Seconds(120);
  EXPECT_EQ(LongestResource(options, 32, absl::Seconds(120), {&pins}),
            absl::Seconds(4 * 120 + 150 + 120 + 60));
  // A line that does not divide evenly still waits a whole round; each
  // backend asked may first wait for a claim, and counts its own longest
  // call (an upload may take far longer than a pin).
  options.max_per_host = 4;
  FixedCidBackend uploads("");
  uploads.longest_call = absl::Minutes(10);
  EXPECT_EQ(LongestResource(options, 5, absl::Seconds(30), {&pins, &uploads}),
            absl::Seconds(2 * 30 + (150 + 120) + (150 + 600) + 60));
}

// What the pinner's lease window is built from, for each backend as the
// pinner makes it from flags: uploads to kubo and cluster have their own
// 10-minute timeout, far over the 2-minute pin timeout; a CAR upload sends
// up to MaxPieces pieces of 10 minutes each.
TEST(LongestResourceTest, EachBackendStatesItsLongestCall) {
  http::HttpClient http({});
  ipfs::BackendConfig config{.kind = "kubo,cluster,pinning-service,car-upload",
                             .kubo_api_url = "http://127.0.0.1:9",
                             .pin_timeout = absl::Minutes(2),
                             .max_upload_bytes = size_t{512} << 20,
                             .pinning_service_url = "http://127.0.0.1:9",
                             .pinning_service_token = "t",
                             .cluster_url = "http://127.0.0.1:9",
                             .car_upload_url = "http://127.0.0.1:9",
                             .car_upload_token = "t"};
  auto backends = ipfs::MakePinBackends(config, http);
  ASSERT_TRUE(backends.ok()) << backends.status();
  std::map<std::string, absl::Duration> longest;
  for (const auto& b : *backends) longest[b->name()] = b->longest_pin_call();
  EXPECT_EQ(longest["kubo"], absl::Minutes(10));
  EXPECT_EQ(longest["cluster"], absl::Minutes(10));
  EXPECT_EQ(longest["pinning-service"], absl::Seconds(30));
  // The CAR of 512 MiB (under 546 MB) in pieces that each carry over
  // 98.9 MB: at most six.
  EXPECT_EQ(longest["car-upload"], absl::Minutes(60));

  // A claim is waited on for as long as another lease's upload may take;
  // the renewal window covers that wait and the upload.
  const std::vector<ipfs::PinBackend*> kubo = {(*backends)[0].get()};
  PinnerOptions options{.max_per_host = 8,
                        .claim_wait = ClaimWait(absl::Seconds(120), kubo)};
  EXPECT_EQ(options.claim_wait, absl::Seconds(630));
  EXPECT_EQ(LongestResource(options, 32, absl::Seconds(120), kubo),
            absl::Seconds(4 * 120 + (630 + 600) + 60));
}

// A step reports progress after each resource it works, with the whole
// batch: the renewal window bounds one resource, not the batch.
TEST_F(ResourcePinnerTest, ProgressIsReportedAfterEachResource) {
  repo_.bytes = "{\"name\":\"progress\"}";
  FixedCidBackend backend(KuboV1Cid(repo_.bytes));
  Run(backend);
  EXPECT_EQ(repo_.kept_holding, 1);  // one resource leased, one report
}

}  // namespace
}  // namespace niftysave::pinner
