// Zora-style contracts end to end (issue 12) on real components: Postgres,
// anvil running ZoraStyleMedia, a js-ipfs node and the HTTPS fixture server
// on loopback, the four service binaries as processes. The indexer detects
// the family from the contract's code and reads both URIs and both hashes;
// the extractor fetches the metadata from tokenMetadataURI, archives the
// token URI (the content) as an asset, and checks each byte string against
// its on-chain sha256.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/db/pool.h"
#include "gtest/gtest.h"
#include "openssl/sha.h"
#include "tests/harness/temp_dir.h"
#include "tests/integration/local_pipeline.h"

namespace niftysave::pipeline {
namespace {

#define ASSERT_OK(expr)                          \
  do {                                           \
    const absl::Status s_ = (expr);              \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_; \
  } while (0)

constexpr char kOwner[] = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266";

std::string Sha256(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

// One row per link of the token: json_path → "role status verified reason".
std::map<std::string, std::string> Links(db::Pool& pool,
                                         const std::string& contract,
                                         const std::string& token_id,
                                         std::string* token_status) {
  std::map<std::string, std::string> out;
  absl::Status s = pool.Run([&](pqxx::work& txn) {
    out.clear();
    pqxx::result t = txn.exec_params(
        "SELECT status || ' ' || coalesce(reason, '-') FROM tokens "
        "WHERE contract = decode($1, 'hex') AND token_id = $2::numeric",
        contract, token_id);
    *token_status = t.empty() ? "" : t[0][0].as<std::string>();
    for (const auto& row : txn.exec_params(
             "SELECT tr.json_path, tr.role || ' ' || r.status || ' ' || "
             "tr.verified::text || ' ' || coalesce(r.reason, '-') || ' ' || "
             "coalesce(r.pinned_cid, '-') "
             "FROM token_resources tr JOIN tokens t ON t.id = tr.token_pk "
             "JOIN resources r ON r.id = tr.resource_id "
             "WHERE t.contract = decode($1, 'hex') AND "
             "t.token_id = $2::numeric",
             contract, token_id)) {
      out[row[0].as<std::string>()] = row[1].as<std::string>();
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST(ZoraE2ETest, ContentAndMetadataArchivedAndCheckedAgainstOnChainHashes) {
  auto pipeline = LocalPipeline::Start({});
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  LocalPipeline& p = **pipeline;
  ASSERT_OK(p.StartAllServices());
  auto media = p.chain().Deploy("ZoraStyleMedia");
  ASSERT_TRUE(media.ok()) << media.status();

  // Token 0: both byte strings are what the chain says. Token 1: its
  // content was replaced after the mint (the server serves other bytes).
  std::map<std::string, std::string> content_cid, metadata_cid;
  for (const char* id : {"0", "1"}) {
    const std::string content = absl::StrCat("zora content #", id, "\n");
    const std::string metadata = absl::StrCat(
        R"({"name":"Zora #)", id, R"(","description":"a Zora-style token",)",
        R"("mimeType":"text/plain","version":"zora-20210101"})");
    const std::string served =
        std::string(id) == "0" ? content : content + "tampered";
    const std::string c_path = absl::StrCat("/media/zora-", id, ".txt");
    const std::string m_path = absl::StrCat("/meta/zora-", id, ".json");
    ASSERT_OK(harness::WriteFile(p.web().root_dir() + c_path, served));
    ASSERT_OK(harness::WriteFile(p.web().root_dir() + m_path, metadata));
    ASSERT_OK(p.chain()
                  .ZoraMint(*media, kOwner, p.web().https_url() + c_path,
                            p.web().https_url() + m_path, Sha256(content),
                            Sha256(metadata))
                  .status());
    auto c = p.ReferenceCid(served);
    auto m = p.ReferenceCid(metadata);
    ASSERT_TRUE(c.ok() && m.ok());
    content_cid[id] = *c;
    metadata_cid[id] = *m;
  }
  ASSERT_OK(p.Confirm());

  auto pool = db::Pool::Create(p.database_url(), 1);
  ASSERT_TRUE(pool.ok()) << pool.status();
  std::string status0, status1;
  std::map<std::string, std::string> links0, links1;
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    links0 = Links(**pool, *media, "0", &status0);
    links1 = Links(**pool, *media, "1", &status1);
    if (absl::StartsWith(status0, "archived") &&
        absl::StartsWith(status1, "failed")) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  // The metadata (from tokenMetadataURI) and the content (tokenURI) are both
  // pinned, each under the CID the IPFS node computes, and both verified.
  EXPECT_EQ(status0, "archived -");
  EXPECT_EQ(links0[""],
            absl::StrCat("metadata pinned true - ", metadata_cid["0"]));
  EXPECT_EQ(links0["tokenURI()"],
            absl::StrCat("asset pinned true - ", content_cid["0"]));
  EXPECT_EQ(links0.size(), 2u);
  // The content's bytes are not the ones committed on chain: a final failure
  // on the content, and nothing of the token pinned.
  EXPECT_EQ(status1, "failed hash_mismatch");
  EXPECT_EQ(links1["tokenURI()"], "asset failed false hash_mismatch -");
  EXPECT_EQ(links1.size(), 1u);

  // GetTokenStatus says which links were checked against the chain.
  auto report0 = p.GetTokenStatus("0", *media);
  ASSERT_TRUE(report0.ok()) << report0.status();
  EXPECT_EQ(report0->status(), v1::TOKEN_STATUS_ARCHIVED);
  EXPECT_TRUE(report0->metadata_sha256_verified());
  ASSERT_EQ(report0->assets_size(), 1);
  EXPECT_EQ(report0->assets(0).json_path(), "tokenURI()");
  EXPECT_TRUE(report0->assets(0).sha256_verified());
  // The operator's CLI says so under each checked link.
  auto printed = harness::RunCommand(
      {NIFTYSAVE_CLI_BIN, "status", "--tracker_addr=" + p.grpc_addr("tracker"),
       "31337", "0x" + *media, "0"},
      absl::Seconds(20));
  ASSERT_TRUE(printed.ok()) << printed.status();
  const std::vector<absl::string_view> around =
      absl::StrSplit(*printed, "sha256 matches the chain's");
  EXPECT_EQ(around.size(), 3u) << *printed;  // the metadata and the content
  auto report1 = p.GetTokenStatus("1", *media);
  ASSERT_TRUE(report1.ok()) << report1.status();
  EXPECT_EQ(report1->status(), v1::TOKEN_STATUS_FAILED);
  ASSERT_EQ(report1->assets_size(), 1);
  EXPECT_FALSE(report1->assets(0).sha256_verified());
  ASSERT_OK(p.StopAllServices());
}

}  // namespace
}  // namespace niftysave::pipeline
