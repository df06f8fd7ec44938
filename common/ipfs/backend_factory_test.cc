#include "common/ipfs/backend_factory.h"

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/runtime/reason.h"
#include "gtest/gtest.h"

namespace niftysave::ipfs {
namespace {

TEST(BackendFactoryTest, BuildsEachKindByName) {
  http::HttpClient http{http::HttpClientOptions{}};
  absl::StatusOr<std::unique_ptr<PinBackend>> kubo = MakePinBackend(
      {.kind = "kubo", .kubo_api_url = "http://127.0.0.1:5001"}, http);
  ASSERT_TRUE(kubo.ok()) << kubo.status();
  EXPECT_EQ((*kubo)->name(), "kubo");
  EXPECT_EQ((*kubo)->upload_profile(), "kubo-v1");

  absl::StatusOr<std::unique_ptr<PinBackend>> service =
      MakePinBackend({.kind = "pinning-service",
                      .pinning_service_url = "https://pins.example/",
                      .pinning_service_token = "t"},
                     http);
  ASSERT_TRUE(service.ok()) << service.status();
  EXPECT_EQ((*service)->name(), "pinning-service");

  char tmpl[] = "/tmp/backend-factory-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/cars";
  absl::StatusOr<std::unique_ptr<PinBackend>> store =
      MakePinBackend({.kind = "car-store", .car_store_dir = dir}, http);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->name(), "car-store");
  EXPECT_EQ((*store)->upload_profile(), "ipfs-car");
  std::filesystem::remove_all(tmpl);
}

TEST(BackendFactoryTest, BadConfigNamesTheFlag) {
  struct Case {
    BackendConfig config;
    const char* flag;
  };
  for (const Case& c :
       {Case{{.kind = "ipfs-cluster"}, "pin_backend"},
        Case{{.kind = "kubo"}, "kubo_api_url"},
        Case{{.kind = "pinning-service"}, "pinning_service_url"},
        Case{{.kind = "pinning-service",
        .pinning_service_url = "https://pins.example"},
             "pinning_service_token"},
        Case{{.kind = "car-store"}, "car_store_dir"},
        Case{{.kind = "cluster"}, "cluster_url"},
        Case{{.kind = "cluster", .cluster_url = "ftp://cluster"},
             "cluster_url"},
        Case{{.kind = "cluster",
        .cluster_url = "http://127.0.0.1:9094",
        .cluster_basic_auth = "no-colon"},
             "cluster_basic_auth"},
        Case{{.kind = "cluster",
        .cluster_url = "http://127.0.0.1:9094",
        .cluster_basic_auth = "u:p",
        .cluster_token = "t"},
             "cluster_token"},
        Case{{.kind = "cluster",
        .cluster_url = "http://127.0.0.1:9094",
        .cluster_token = "evil\r\nX-Injected: 1"},
             "cluster_token"},
        Case{{.kind = "cluster",
        .cluster_url = "http://127.0.0.1:9094",
        .cluster_replication_min = -2},
             "cluster_replication_min"},
        Case{{.kind = "cluster",
        .cluster_url = "http://127.0.0.1:9094",
        .cluster_replication_max = 1001},
             "cluster_replication_max"},
        Case{{.kind = "cluster",
        .cluster_url = "http://127.0.0.1:9094",
        .cluster_replication_min = 3,
        .cluster_replication_max = 2},
             "cluster_replication_min"},
        Case{{.kind = "cluster",
        .cluster_url = "http://127.0.0.1:9094",
        .cluster_replication_min = -1,
        .cluster_replication_max = 2},
             "cluster_replication_max"},
        Case{{.kind = "car-upload"}, "car_upload_url"},
        Case{
            {.kind = "car-upload", .car_upload_url = "https://api.nft.storage"},
            "car_upload_token"},
        Case{{.kind = "car-upload",
        .car_upload_url = "https://api.nft.storage",
        .car_upload_token = "t",
        .car_upload_max_bytes = 1000},
             "car_upload_max_bytes"},
        // Lists: every kind is checked, names are distinct and known.
        Case{{.kind = ""}, "pin_backend"},
        Case{{.kind = "kubo,"}, "pin_backend"},
        Case{{.kind = "kubo,kubo", .kubo_api_url = "http://127.0.0.1:5001"},
             "pin_backend"},
        Case{{.kind = "kubo,nope", .kubo_api_url = "http://127.0.0.1:5001"},
             "pin_backend"},
        Case{{.kind = "kubo,cluster", .kubo_api_url = "http://127.0.0.1:5001"},
             "cluster_url"}}) {
    std::optional<BackendConfigError> error = ValidateBackendConfig(c.config);
    ASSERT_TRUE(error.has_value()) << c.flag;
    EXPECT_EQ(error->flag, c.flag);
    http::HttpClient http{http::HttpClientOptions{}};
    absl::StatusOr<std::unique_ptr<PinBackend>> backend =
        MakePinBackend(c.config, http);
    EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(BackendFactoryTest, BuildsTheNewKinds) {
  http::HttpClient http{http::HttpClientOptions{}};
  absl::StatusOr<std::unique_ptr<PinBackend>> cluster =
      MakePinBackend({.kind = "cluster",
                      .cluster_url = "http://127.0.0.1:9094/",
                      .cluster_basic_auth = "user:pa:ss",
                      .cluster_replication_min = -1,
                      .cluster_replication_max = -1},
                     http);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_EQ((*cluster)->name(), "cluster");
  EXPECT_EQ((*cluster)->upload_profile(), "kubo-v1");
  EXPECT_GT((*cluster)->max_status_batch(), 100u);

  absl::StatusOr<std::unique_ptr<PinBackend>> car_upload =
      MakePinBackend({.kind = "car-upload",
                      .car_upload_url = "https://api.nft.storage",
                      .car_upload_token = "t"},
                     http);
  ASSERT_TRUE(car_upload.ok()) << car_upload.status();
  EXPECT_EQ((*car_upload)->name(), "car-upload");
  EXPECT_EQ((*car_upload)->upload_profile(), "ipfs-car");
  absl::StatusOr<PinReceipt> pin = (*car_upload)->PinCid("bafkqaaa");
  EXPECT_EQ(pin.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ReasonOf(pin.status()), "rejected");
}

TEST(BackendFactoryTest, BuildsEveryBackendOfAList) {
  http::HttpClient http{http::HttpClientOptions{}};
  const BackendConfig config{.kind = " kubo , cluster,car-upload",
                             .kubo_api_url = "http://127.0.0.1:5001",
                             .cluster_url = "http://127.0.0.1:9094",
                             .car_upload_url = "http://127.0.0.1:8080",
                             .car_upload_token = "t"};
  EXPECT_FALSE(ValidateBackendConfig(config).has_value());
  absl::StatusOr<std::vector<std::unique_ptr<PinBackend>>> backends =
      MakePinBackends(config, http);
  ASSERT_TRUE(backends.ok()) << backends.status();
  ASSERT_EQ(backends->size(), 3u);
  EXPECT_EQ((*backends)[0]->name(), "kubo");
  EXPECT_EQ((*backends)[1]->name(), "cluster");
  EXPECT_EQ((*backends)[2]->name(), "car-upload");

  // One service that takes exactly one backend refuses a list.
  absl::StatusOr<std::unique_ptr<PinBackend>> one =
      MakePinBackend(config, http);
  EXPECT_EQ(one.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(one.status().message().find("exactly one"),
            absl::string_view::npos);

  // A single kind is a list of one.
  absl::StatusOr<std::vector<std::unique_ptr<PinBackend>>> single =
      MakePinBackends({.kind = "kubo", .kubo_api_url = "http://x:1"}, http);
  ASSERT_TRUE(single.ok()) << single.status();
  ASSERT_EQ(single->size(), 1u);
  EXPECT_EQ(single->front()->name(), "kubo");
}

TEST(BackendFactoryTest, ParsesKindsAndMeta) {
  absl::StatusOr<std::vector<std::string>> kinds =
      ParseBackendKinds("car-store,pinning-service");
  ASSERT_TRUE(kinds.ok());
  EXPECT_EQ(*kinds, (std::vector<std::string>{"car-store", "pinning-service"}));

  absl::StatusOr<std::map<std::string, std::string>> meta =
      ParseMetaList("app=niftysave,env=prod-1,empty=");
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(*meta,
            (std::map<std::string, std::string>{
                {"app", "niftysave"}, {"empty", ""}, {"env", "prod-1"}}));
  EXPECT_TRUE(ParseMetaList("")->empty());
  for (const char* bad : {"novalue", "=v", "a b=c", "k=v=w", "k=\x01"}) {
    EXPECT_FALSE(ParseMetaList(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseMetaList(std::string(65, 'k') + "=v").ok());
}

}  // namespace
}  // namespace niftysave::ipfs
