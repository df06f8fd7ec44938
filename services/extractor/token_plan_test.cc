// The extractor's seam for contract families: what a token's recorded
// fields make it fetch, and how the bytes are checked against its hashes.
#include "services/extractor/token_plan.h"

#include "gtest/gtest.h"

namespace niftysave::extractor {
namespace {

Extraction Fetched(const std::string& bytes) {
  Extraction x;
  x.content.bytes = bytes;
  x.metadata_uri = uri::ResolveUri("https://example.com/meta.json");
  return x;
}

fetch::FetchedContent Content(const std::string& bytes) {
  fetch::FetchedContent c;
  c.bytes = bytes;
  return c;
}

TEST(TokenPlanTest, StandardTokenFetchesItsTokenUriAndChecksNothing) {
  TokenToExtract t{.pk = 1, .token_id = "1", .token_uri = "ipfs://bafkreia"};
  TokenPlan plan = PlanToken(t);
  EXPECT_EQ(plan.metadata_uri, "ipfs://bafkreia");
  EXPECT_FALSE(plan.content.has_value());
  Extraction x = Fetched("{}");
  EXPECT_FALSE(ApplyPlan(plan, x, std::nullopt).has_value());
  EXPECT_FALSE(x.metadata_verified);
  EXPECT_TRUE(x.assets.empty());
}

TEST(TokenPlanTest, FamilyTokenChecksBothAndAddsTheContentAsAnAsset) {
  TokenToExtract t{.pk = 1,
                   .token_id = "0",
                   .token_uri = "https://example.com/c.png",
                   .metadata_uri = "https://example.com/meta.json",
                   .content_sha256 = Sha256Hex("content"),
                   .metadata_sha256 = Sha256Hex("{}")};
  TokenPlan plan = PlanToken(t);
  EXPECT_EQ(plan.metadata_uri, "https://example.com/meta.json");
  ASSERT_TRUE(plan.content_sha256.has_value());

  Extraction ok = Fetched("{}");
  EXPECT_FALSE(ApplyPlan(plan, ok, Content("content")).has_value());
  EXPECT_TRUE(ok.metadata_verified);
  ASSERT_EQ(ok.assets.size(), 1u);
  EXPECT_EQ(ok.assets[0].json_path, kContentPath);
  EXPECT_EQ(ok.assets[0].uri, "https://example.com/c.png");
  EXPECT_TRUE(ok.assets[0].verified);

  Extraction bad_content = Fetched("{}");
  auto f = ApplyPlan(plan, bad_content, Content("other"));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->reason, "hash_mismatch");
  EXPECT_FALSE(f->temporary);
  EXPECT_EQ(f->json_path, kContentPath);
  EXPECT_EQ(f->metadata_uri->normalized, ok.assets[0].resolved.normalized);

  Extraction bad_meta = Fetched("{ }");
  f = ApplyPlan(plan, bad_meta, Content("content"));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->reason, "hash_mismatch");
  EXPECT_EQ(f->json_path, "");
}

// No hash on chain (the indexer stores Zora's zero hash as none): nothing
// is fetched twice, nothing checked, nothing verified.
TEST(TokenPlanTest, UncommittedHashesAreNotChecked) {
  TokenToExtract t{.pk = 1,
                   .token_id = "0",
                   .token_uri = "https://example.com/c.png",
                   .metadata_uri = "https://example.com/meta.json"};
  TokenPlan plan = PlanToken(t);
  EXPECT_FALSE(plan.content_sha256.has_value());
  Extraction x = Fetched("anything");
  EXPECT_FALSE(ApplyPlan(plan, x, std::nullopt).has_value());
  EXPECT_FALSE(x.metadata_verified);
  ASSERT_EQ(x.assets.size(), 1u);
  EXPECT_FALSE(x.assets[0].verified);
}

}  // namespace
}  // namespace niftysave::extractor
