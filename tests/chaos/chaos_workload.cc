#include "tests/chaos/chaos_workload.h"

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/harness/temp_dir.h"

namespace niftysave::chaos {
namespace {

using harness::WriteFile;

constexpr int kTransfers = 10;

// Image-like bytes, distinct per (seed, key): the CIDs are computed on them.
std::string Image(uint64_t seed, const std::string& key) {
  std::string bytes =
      absl::StrCat("\x89PNG\r\n\x1a\nchaos ", seed, " ", key, "\n");
  const size_t salt = std::hash<std::string>{}(bytes);
  for (int i = 0; i < 1536; ++i) {
    bytes.push_back(static_cast<char>((i * 131 + salt) & 0xff));
  }
  return bytes;
}

}  // namespace

Workload::Workload(uint64_t seed, int tokens) : seed_(seed), rng_(seed) {
  for (int i = 1; i <= tokens; ++i) {
    const int r = static_cast<int>(rng_() % 100);
    Kind kind = r < 16   ? Kind::kIpfs
                : r < 30 ? Kind::kGateway
                : r < 55 ? Kind::kHttps
                : r < 68 ? Kind::kData
                : r < 73 ? Kind::kMissing
                : r < 78 ? Kind::kInvalid
                         : Kind::kMulti;
    planned_.push_back(
        {kind, std::to_string(i), "",
         kind == Kind::kMulti ? 2 + static_cast<int>(rng_() % 4) : 1});
  }
  // Transfers of both standards, each token at most once.
  std::vector<size_t> order(planned_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng_);
  for (size_t i : order) {
    if (static_cast<int>(transfers_.size()) == kTransfers) break;
    transfers_.push_back({planned_[i].kind == Kind::kMulti, planned_[i].id});
  }
}

std::string Workload::Summary() const {
  static const char* kNames[] = {"ipfs://", "gateway URL", "https://", "data:",
                                 "404",     "not a URI",   "ERC-1155"};
  std::map<int, int> counts;
  for (const Planned& t : planned_) ++counts[static_cast<int>(t.kind)];
  std::string out;
  for (const auto& [kind, n] : counts) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", n, " ", kNames[kind]);
  }
  return absl::StrCat(out, "; ", transfers_.size(), " transfers, ",
                      pool_cids_.size(), " shared images");
}

absl::Status Workload::Prepare(pipeline::LocalPipeline& p) {
  if (absl::Status s = p.DeployDemoContract(); !s.ok()) return s;
  auto multi = p.chain().Deploy("DemoMulti");
  if (!multi.ok()) return multi.status();
  multi_ = *multi;
  auto accounts = p.chain().Accounts();
  if (!accounts.ok()) return accounts.status();
  if (accounts->size() < 3)
    return absl::InternalError("anvil has fewer than 3 accounts");
  receiver_ = (*accounts)[1];
  decoy_ = (*accounts)[2];

  const std::string media = p.web().root_dir() + "/media/";
  const int pool = 3 + tokens() / 15;
  for (int k = 0; k < pool; ++k) {
    const std::string bytes = Image(seed_, absl::StrCat("pool", k));
    auto cid = p.AddToIpfs(bytes);
    if (!cid.ok()) return cid.status();
    pool_cids_.push_back(*cid);
    // The same bytes over https: an upload landing on the same CID.
    if (absl::Status s =
            WriteFile(absl::StrCat(media, "pool", k, ".png"), bytes);
        !s.ok())
      return s;
  }
  for (Planned& t : planned_) {
    if (absl::Status s = PrepareToken(p, t); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Workload::PrepareToken(pipeline::LocalPipeline& p, Planned& t) {
  const size_t k = rng_() % pool_cids_.size();
  nlohmann::ordered_json meta = {{"name", "Chaos #" + t.id},
                                 {"description", absl::StrCat("seed ", seed_)}};
  auto on_ipfs = [&](const std::string& prefix) -> absl::Status {
    auto cid = p.AddToIpfs(meta.dump());
    if (!cid.ok()) return cid.status();
    t.uri = prefix + *cid;
    return absl::OkStatus();
  };
  const std::string web = p.web().https_url();
  switch (t.kind) {
    case Kind::kIpfs:
    case Kind::kMulti:
      meta["image"] = "ipfs://" + pool_cids_[k];
      return on_ipfs("ipfs://");
    case Kind::kGateway:
      meta["image"] = p.ipfs_gateway_url() + "/ipfs/" + pool_cids_[k];
      return on_ipfs(p.ipfs_gateway_url() + "/ipfs/");
    case Kind::kHttps: {
      std::string image = absl::StrCat("/media/pool", k, ".png");
      if (rng_() % 2) {
        image = "/media/" + t.id + ".png";
        if (absl::Status s =
                WriteFile(p.web().root_dir() + image, Image(seed_, t.id));
            !s.ok())
          return s;
      }
      meta["image"] = web + image;
      t.uri = web + "/meta/" + t.id + ".json";
      return WriteFile(p.web().root_dir() + "/meta/" + t.id + ".json",
                       meta.dump());
    }
    case Kind::kData: {
      const std::string svg =
          absl::StrCat("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>", t.id,
                       " ", seed_, "</text></svg>");
      meta["image"] = "data:image/svg+xml;base64," + absl::Base64Escape(svg);
      t.uri = "data:application/json;base64," + absl::Base64Escape(meta.dump());
      return absl::OkStatus();
    }
    case Kind::kMissing:
      t.uri = web + "/meta/missing-" + t.id + ".json";
      return absl::OkStatus();
    case Kind::kInvalid:
      t.uri = "javascript:alert(" + t.id + ")";
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status Workload::Mint(pipeline::LocalPipeline& p, int wave, int waves) {
  std::vector<pipeline::ExpectedToken> nfts;
  std::vector<std::string> ids, amounts;
  for (size_t i = wave; i < planned_.size(); i += waves) {
    const Planned& t = planned_[i];
    if (t.kind != Kind::kMulti) {
      nfts.push_back({.token_id = t.id, .token_uri = t.uri});
      continue;
    }
    auto tx = p.chain().MultiSetUri(multi_, t.id, t.uri);
    if (!tx.ok()) return tx.status();
    ids.push_back(t.id);
    amounts.push_back(std::to_string(t.amount));
  }
  if (!ids.empty()) {
    auto tx = p.chain().MultiMintBatch(multi_, harness::DevChain::kDevAccount,
                                       ids, amounts);
    if (!tx.ok()) return tx.status();
  }
  return p.MintPrepared(nfts);  // mints in batches, then confirms
}

absl::Status Workload::Send(pipeline::LocalPipeline& p,
                            const PlannedTransfer& t, const std::string& to) {
  auto tx = t.multi
                ? p.chain().MultiTransfer(
                      multi_, harness::DevChain::kDevAccount, to, t.id, "1")
                : p.chain().Transfer(p.contract(),
                                     harness::DevChain::kDevAccount, to, t.id);
  return tx.status();
}

absl::Status Workload::Transfer(pipeline::LocalPipeline& p, int reorg_depth,
                                const std::function<void()>& wait_indexed) {
  // reorg_depth blocks: the last reorg_depth - 1 transfers and the block
  // Confirm() mines after them.
  const size_t in_reorg = std::min<size_t>(
      transfers_.size(), reorg_depth > 0 ? reorg_depth - 1 : 0);
  const size_t before = transfers_.size() - in_reorg;
  for (size_t i = 0; i < before; ++i) {
    if (absl::Status s = Send(p, transfers_[i], receiver_); !s.ok()) return s;
  }
  auto send_rest = [&](const std::string& to) -> absl::Status {
    for (size_t i = before; i < transfers_.size(); ++i) {
      if (absl::Status s = Send(p, transfers_[i], to); !s.ok()) return s;
    }
    return p.Confirm();
  };
  if (reorg_depth <= 0) return send_rest(receiver_);
  auto snapshot = p.chain().Snapshot();
  if (!snapshot.ok()) return snapshot.status();
  if (absl::Status s = send_rest(decoy_); !s.ok()) return s;
  wait_indexed();
  if (absl::Status s = p.chain().Revert(*snapshot); !s.ok()) return s;
  // Another timestamp, so the same transactions make other block hashes.
  auto later =
      p.chain().rpc().Call("evm_increaseTime", nlohmann::json::array({1}));
  if (!later.ok()) return later.status();
  return send_rest(receiver_);
}

}  // namespace niftysave::chaos
