#include "common/ipfs/backend_factory.h"

#include <cstdlib>
#include <filesystem>
#include <string>

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
        Case{{.kind = "car-store"}, "car_store_dir"}}) {
    std::optional<BackendConfigError> error = ValidateBackendConfig(c.config);
    ASSERT_TRUE(error.has_value()) << c.flag;
    EXPECT_EQ(error->flag, c.flag);
    http::HttpClient http{http::HttpClientOptions{}};
    absl::StatusOr<std::unique_ptr<PinBackend>> backend =
        MakePinBackend(c.config, http);
    EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace niftysave::ipfs
