#include "tests/chaos/records.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/db/pool.h"
#include "common/http/http_client.h"
#include "common/ipfs/kubo_backend.h"
#include "tests/harness/dev_chain.h"

namespace niftysave::chaos {
namespace {

// Each query yields (key, value) rows for one table. Addresses are hex;
// missing values are ''.
struct TableQuery {
  const char* table;
  const char* sql;
};
constexpr TableQuery kTables[] = {
    {"tokens",
     "SELECT encode(contract, 'hex') || '/' || token_id, "
     "concat_ws('|', status, coalesce(reason, ''), coalesce(token_uri, ''), "
     "coalesce(encode(owner, 'hex'), ''), burned) FROM tokens"},
    {"resources",
     "SELECT normalized, concat_ws('|', kind, coalesce(cid, ''), path, "
     "status, coalesce(reason, ''), coalesce(pinned_cid, ''), "
     "coalesce(size::text, ''), coalesce(content_type, '')) FROM resources"},
    {"token_resources",
     "SELECT encode(t.contract, 'hex') || '/' || t.token_id || '/' || "
     "tr.json_path, concat_ws('|', r.normalized, tr.role, tr.uri) "
     "FROM token_resources tr JOIN tokens t ON t.id = tr.token_pk "
     "JOIN resources r ON r.id = tr.resource_id"},
    {"token_links",
     "SELECT encode(t.contract, 'hex') || '/' || t.token_id || '/' || "
     "l.json_path, concat_ws('|', l.role, l.value) "
     "FROM token_links l JOIN tokens t ON t.id = l.token_pk"},
    {"metadata",
     "SELECT r.normalized, concat_ws('|', encode(m.sha256, 'hex'), m.size) "
     "FROM metadata m JOIN resources r ON r.id = m.resource_id"},
    {"pins",
     "SELECT cid || '/' || backend, concat_ws('|', status, "
     "coalesce(reason, '')) FROM pins"},
    // A transfer is keyed by what moved, so one recorded twice (at two
    // places in the chain) shows as a duplicate.
    {"transfers",
     "SELECT concat_ws('/', standard, encode(contract, 'hex'), token_id, "
     "encode(from_address, 'hex'), encode(to_address, 'hex'), amount), "
     "concat_ws('/', block_number, log_index, batch_index) FROM transfers"},
    {"erc1155_balances",
     "SELECT concat_ws('/', encode(contract, 'hex'), token_id, "
     "encode(owner, 'hex')), balance::text FROM erc1155_balances"},
    {"dead_queue_items",
     "SELECT queue, count(*)::text FROM work_queue WHERE state = 'dead' "
     "GROUP BY queue"},
};

constexpr char kQueueLeft[] =
    "SELECT count(*) FROM work_queue WHERE state = 'ready'";
constexpr char kArchivedUnpinned[] =
    "SELECT encode(t.contract, 'hex') || '/' || t.token_id || ' ' || "
    "tr.json_path || ' ' || r.status FROM tokens t "
    "JOIN token_resources tr ON tr.token_pk = t.id "
    "JOIN resources r ON r.id = tr.resource_id "
    "WHERE t.status = 'archived' AND r.status <> 'pinned'";
constexpr char kUnsettled[] =
    "SELECT (SELECT count(*) FROM tokens WHERE status IN ('queued', "
    "'extracted')) + (SELECT count(*) FROM resources WHERE status IN "
    "('queued', 'pinning')) + (SELECT count(*) FROM pins WHERE status IN "
    "('queued', 'pinning'))";
constexpr char kTransferBlocks[] =
    "SELECT DISTINCT block_number, '0x' || encode(block_hash, 'hex') "
    "FROM transfers";
constexpr char kPinnedOnKubo[] =
    "SELECT cid FROM pins WHERE status = 'pinned' AND backend = 'kubo'";

void Note(std::vector<std::string>& examples, std::string what) {
  if (examples.size() < 8) examples.push_back(std::move(what));
}

}  // namespace

absl::StatusOr<Records> ReadRecords(const std::string& database_url) {
  auto pool = db::Pool::Create(database_url, 1);
  if (!pool.ok()) return pool.status();
  Records records;
  absl::Status s = (*pool)->Run([&](pqxx::work& txn) {
    for (const TableQuery& q : kTables) {
      auto& table = records[q.table];
      for (const auto& row : txn.exec(q.sql)) {
        table[row[0].as<std::string>()].push_back(row[1].as<std::string>());
      }
      for (auto& [key, values] : table) std::sort(values.begin(), values.end());
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return records;
}

int64_t Diff::lost() const {
  int64_t n = 0;
  for (const auto& [_, t] : tables) n += t.lost;
  return n;
}
int64_t Diff::duplicated() const {
  int64_t n = 0;
  for (const auto& [_, t] : tables) n += t.duplicated;
  return n;
}
int64_t Diff::differing() const {
  int64_t n = 0;
  for (const auto& [_, t] : tables) n += t.differing;
  return n;
}

std::string Diff::ToString() const {
  std::string out = absl::StrCat("lost ", lost(), ", duplicated ", duplicated(),
                                 ", differing ", differing());
  for (const auto& [name, t] : tables) {
    absl::StrAppend(&out, "\n  ", name, ": lost ", t.lost, ", duplicated ",
                    t.duplicated, ", differing ", t.differing);
    for (const std::string& e : t.examples) absl::StrAppend(&out, "\n    ", e);
  }
  return out;
}

Diff Compare(const Records& reference, const Records& got) {
  Diff diff;
  static const std::map<std::string, std::vector<std::string>> kNone;
  auto compare_table = [&](const std::string& name) {
    auto ref_it = reference.find(name);
    auto got_it = got.find(name);
    const auto& want = ref_it == reference.end() ? kNone : ref_it->second;
    const auto& have = got_it == got.end() ? kNone : got_it->second;
    TableDiff t;
    for (const auto& [key, values] : want) {
      auto h = have.find(key);
      const size_t n = h == have.end() ? 0 : h->second.size();
      if (n < values.size()) {
        t.lost += values.size() - n;
        Note(t.examples, absl::StrCat("lost ", key, " = ", values[0]));
      }
      if (n > values.size()) {
        t.duplicated += n - values.size();
        Note(t.examples, absl::StrCat("duplicated ", key));
      }
      for (size_t i = 0; i < std::min(n, values.size()); ++i) {
        if (h->second[i] == values[i]) continue;
        ++t.differing;
        Note(t.examples, absl::StrCat("differs ", key, ": want ", values[i],
                                      ", got ", h->second[i]));
      }
    }
    for (const auto& [key, values] : have) {
      if (want.count(key)) continue;
      t.duplicated += values.size();  // recorded, though never in reference
      Note(t.examples, absl::StrCat("extra ", key, " = ", values[0]));
    }
    if (t.lost || t.duplicated || t.differing) diff.tables[name] = t;
  };
  for (const TableQuery& q : kTables) compare_table(q.table);
  return diff;
}

std::string Invariants::ToString() const {
  std::string out = absl::StrCat(
      "queue items left ", queue_items_left, ", archived with unpinned ",
      archived_with_unpinned, ", unsettled ", unsettled,
      ", pinned not on node ", pinned_not_on_node, ", transfers off the chain ",
      off_chain_transfers);
  for (const std::string& e : examples) absl::StrAppend(&out, "\n  ", e);
  return out;
}

// Counts the (block, hash) pairs the node does not have as canonical.
int64_t OffChain(const std::string& rpc_url,
                 const std::vector<std::pair<int64_t, std::string>>& blocks,
                 std::vector<std::string>& examples) {
  harness::DevChain chain(rpc_url);
  int64_t off = 0;
  for (const auto& [number, hash] : blocks) {
    auto block = chain.rpc().Call(
        "eth_getBlockByNumber",
        nlohmann::json::array({absl::StrCat("0x", absl::Hex(number)), false}));
    if (block.ok() && block->is_object() && block->value("hash", "") == hash)
      continue;
    ++off;
    Note(examples, absl::StrCat("transfers on block ", number, " ", hash,
                                ", not the chain's"));
  }
  return off;
}

absl::StatusOr<Invariants> CheckInvariants(const std::string& database_url,
                                           const std::string& ipfs_api_url,
                                           const std::string& rpc_url) {
  auto pool = db::Pool::Create(database_url, 1);
  if (!pool.ok()) return pool.status();
  Invariants inv;
  std::vector<std::string> pinned;
  std::vector<std::pair<int64_t, std::string>> blocks;
  absl::Status s = (*pool)->Run([&](pqxx::work& txn) {
    inv.queue_items_left = txn.exec1(kQueueLeft)[0].as<int64_t>();
    inv.unsettled = txn.exec1(kUnsettled)[0].as<int64_t>();
    for (const auto& row : txn.exec(kArchivedUnpinned)) {
      ++inv.archived_with_unpinned;
      Note(inv.examples, "archived with unpinned " + row[0].as<std::string>());
    }
    for (const auto& row : txn.exec(kPinnedOnKubo))
      pinned.push_back(row[0].as<std::string>());
    for (const auto& row : txn.exec(kTransferBlocks))
      blocks.push_back({row[0].as<int64_t>(), row[1].as<std::string>()});
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!rpc_url.empty())
    inv.off_chain_transfers = OffChain(rpc_url, blocks, inv.examples);
  if (ipfs_api_url.empty()) return inv;
  http::HttpClient http({});
  ipfs::KuboBackend node(http, {.api_url = ipfs_api_url});
  inv.pinned_not_on_node = 0;
  for (const std::string& cid : pinned) {
    absl::StatusOr<ipfs::PinState> state = node.Status(cid);
    if (state.ok() && *state == ipfs::PinState::kPinned) continue;
    ++inv.pinned_not_on_node;
    Note(inv.examples,
         absl::StrCat("called pinned, not on the node: ", cid, " (",
                      state.ok() ? ipfs::PinStateName(*state)
                                 : state.status().ToString(),
                      ")"));
  }
  return inv;
}

}  // namespace niftysave::chaos
