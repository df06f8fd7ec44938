// Indexer throughput benchmark for bench/indexer_bench.sh (issue 3).
//
// One run, one chain: starts Postgres and anvil, deploys the bench contracts
// (testdata/contracts/BenchNFT.sol: 4 ERC-721 + 2 ERC-1155 by default) and
// seeds them with about 200,000 transfer logs, then measures, against that
// same chain:
//   1. niftysave-indexer, as it runs in production, from block 0: until its
//      cursor passes the head (every transfer and token stored), and until
//      its URI reader has read the tokenURI/uri of every token (two rows);
//   2. the RPC floor: the same eth_getLogs pages the indexer asked for (read
//      back from its log), replayed in a tight loop; only anvil's time;
//   3. the Postgres floor: the rows the indexer stored, inserted again table
//      to table into copies with the same indexes;
//   4. Ponder (bench/ponder), the reference indexer, writing the same
//      transfers into the same Postgres server, until it stored them all;
//      without URI reads (the way its own ERC-721 example indexes), and with
//      them (--ponder_uris), the same work niftysave-indexer does.
// Then checks that every contender stored the same number of transfers and
// prints one table.
//
//   indexer_bench --indexer=PATH [--ponder_dir=DIR] [--ponder_uris=1]
//                 [--scale=1.0] [--max_block_range=N] [--log_dir=DIR]
//                 [--indexer_flag=--flag=value ...]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/db/migrations.h"
#include "common/eth/events.h"
#include "common/eth/json_rpc_client.h"
#include "common/http/http_client.h"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"
#include "tests/harness/dev_chain.h"
#include "tests/harness/net.h"
#include "tests/harness/postgres_server.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kChainId = 31337;
constexpr char kAnvil[] = NIFTYSAVE_NODE_TOOLS
    "/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Options {
  std::string indexer;
  std::string ponder_dir;
  bool ponder_uris = true;
  double scale = 1.0;
  uint64_t max_block_range = 2000;
  std::string log_dir;
  std::vector<std::string> indexer_flags;  // passed on to niftysave-indexer
  double timeout_seconds = 1800;
  int pg_log_ms = -1;  // >= 0: Postgres logs statements slower than this
};

// What the seeding wrote; the counts every contender must store.
struct Seeded {
  std::vector<std::string> erc721, erc1155;  // 40 hex, no 0x
  uint64_t logs = 0;
  uint64_t transfers = 0;  // token movements: one per id of a TransferBatch
  uint64_t mints = 0;
  uint64_t txs = 0;
  uint64_t head = 0;
};

struct Row {
  std::string contender{};
  double seconds = 0;
  uint64_t stored = 0;  // transfers stored, checked against Seeded
  std::string note{};
  bool floor = false;  // a floor: only its note is printed, nothing checked
};

[[noreturn]] void Die(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "indexer_bench: %s: %s\n", what.c_str(),
               s.ToString().c_str());
  std::exit(1);
}

template <typename T>
T OrDie(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Die(what, v.status());
  return *std::move(v);
}

std::string Word(uint64_t v) {
  return absl::StrCat(std::string(48, '0'), absl::Hex(v, absl::kZeroPad16));
}
std::string AddressWord(const std::string& hex40) {
  return std::string(24, '0') + hex40;
}

// Selectors from the compiled artifact (scripts/compile-contracts.js).
std::map<std::string, std::string> Selectors(const std::string& name) {
  std::ifstream in(absl::StrCat(NIFTYSAVE_CONTRACTS_DIR, "/", name, ".json"));
  if (!in) Die(name, absl::NotFoundError("artifact missing: build it first"));
  nlohmann::json artifact = nlohmann::json::parse(in);
  return artifact.at("methodIdentifiers")
      .get<std::map<std::string, std::string>>();
}

// Deploys the contracts and sends the seeding transactions (one block
// each, anvil's automine); every receipt is checked and its logs counted.
Seeded Seed(harness::DevChain& dev, double scale) {
  const uint64_t kPerTx = 500;
  const auto scaled = [&](uint64_t n) {
    return std::max<uint64_t>(
        kPerTx, static_cast<uint64_t>(n * scale) / kPerTx * kPerTx);
  };
  const uint64_t mints721 = scaled(32000), moves721 = scaled(10000);
  const uint64_t mints1155 = scaled(15000), moves1155 = scaled(15000);
  const uint64_t ids_per_batch_log = 10;

  Seeded seeded;
  for (int i = 0; i < 4; ++i)
    seeded.erc721.push_back(OrDie(dev.Deploy("BenchNFT"), "deploy"));
  for (int i = 0; i < 2; ++i)
    seeded.erc1155.push_back(OrDie(dev.Deploy("BenchMulti"), "deploy"));
  const std::vector<std::string> accounts =
      OrDie(dev.Accounts(), "eth_accounts");
  if (accounts.size() < 10) Die("eth_accounts", absl::InternalError("need 10"));
  const auto owner = [&](uint64_t batch) { return accounts[1 + batch % 8]; };
  const std::string& sink = accounts[9];

  const auto nft = Selectors("BenchNFT");
  const auto multi = Selectors("BenchMulti");
  struct Tx {
    std::string to, data;
    uint64_t logs = 0, transfers = 0, mints = 0;
  };
  // Mints first (round robin over the contracts), then the moves.
  std::vector<Tx> mints, moves;
  for (uint64_t b = 0; b * kPerTx < std::max(mints721, mints1155); ++b) {
    const uint64_t first = 1 + b * kPerTx;
    for (const std::string& c : seeded.erc721) {
      if (b * kPerTx >= mints721) break;
      mints.push_back(
          {c,
           absl::StrCat("0x", nft.at("mintBatch(address,uint256,uint256)"),
                        AddressWord(owner(b)), Word(first), Word(kPerTx)),
           kPerTx, kPerTx, kPerTx});
    }
    for (const std::string& c : seeded.erc1155) {
      if (b * kPerTx >= mints1155) break;
      mints.push_back(
          {c,
           absl::StrCat(
               "0x", multi.at("mintSingles(address,uint256,uint256,uint256)"),
               AddressWord(owner(b)), Word(first), Word(kPerTx), Word(5)),
           kPerTx, kPerTx, kPerTx});
    }
  }
  for (uint64_t b = 0; b * kPerTx < std::max(moves721, moves1155); ++b) {
    const uint64_t first = 1 + b * kPerTx;  // minted to owner(b) above
    for (const std::string& c : seeded.erc721) {
      if (b * kPerTx >= moves721) break;
      moves.push_back(
          {c,
           absl::StrCat(
               "0x", nft.at("transferBatch(address,address,uint256,uint256)"),
               AddressWord(owner(b)), AddressWord(sink), Word(first),
               Word(kPerTx)),
           kPerTx, kPerTx, 0});
    }
    for (const std::string& c : seeded.erc1155) {
      if (b * kPerTx >= moves1155) break;
      const uint64_t logs = kPerTx / ids_per_batch_log;
      moves.push_back(
          {c,
           absl::StrCat(
               "0x",
               multi.at(
                   "transferBatches(address,address,uint256,uint256,uint256)"),
               AddressWord(owner(b)), AddressWord(sink), Word(first),
               Word(logs), Word(ids_per_batch_log)),
           logs, kPerTx, 0});
    }
  }
  mints.insert(mints.end(), moves.begin(), moves.end());

  std::vector<std::string> hashes;
  for (const Tx& tx : mints) {
    nlohmann::json call = {
        {"from", "0x" + std::string(harness::DevChain::kDevAccount)},
        {"to", "0x" + tx.to},
        {"data", tx.data},
        {"gas", "0x1c9c380"}};  // 30M: no estimate round
    absl::StatusOr<nlohmann::json> hash =
        dev.rpc().Call("eth_sendTransaction", nlohmann::json::array({call}));
    if (!hash.ok()) Die("eth_sendTransaction", hash.status());
    hashes.push_back(hash->get<std::string>());
    seeded.transfers += tx.transfers;
    seeded.mints += tx.mints;
  }
  seeded.txs = hashes.size();
  for (const std::string& h : hashes) {
    // Automine may still be sealing the last block: NotFound until then.
    absl::StatusOr<nlohmann::json> found = dev.Receipt(h);
    for (int i = 0; i < 500 && absl::IsNotFound(found.status()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      found = dev.Receipt(h);
    }
    nlohmann::json receipt = OrDie(std::move(found), "receipt");
    if (receipt.value("status", "") != "0x1") {
      Die("seeding", absl::InternalError("transaction " + h + " failed"));
    }
    seeded.logs += receipt.at("logs").size();
  }
  uint64_t expected_logs = 0;
  for (const Tx& tx : mints) expected_logs += tx.logs;
  if (expected_logs != seeded.logs) {
    Die("seeding",
        absl::InternalError(absl::StrCat(
            "expected ", expected_logs, " logs, receipts hold ", seeded.logs)));
  }
  // Ponder treats the last 30 blocks of an unknown chain as unfinalized:
  // empty blocks on top put every event behind its finality horizon.
  if (absl::Status s = dev.Mine(64); !s.ok()) Die("anvil_mine", s);
  seeded.head = OrDie(dev.BlockNumber(), "eth_blockNumber");
  return seeded;
}

// A pqxx query that may fail (table not there yet): nullopt then.
std::optional<int64_t> QueryInt(const std::string& conninfo,
                                const std::string& sql) {
  try {
    pqxx::connection c(conninfo);
    pqxx::work txn(c);
    pqxx::result r = txn.exec(sql);
    if (r.empty() || r[0][0].is_null()) return std::nullopt;
    return r[0][0].as<int64_t>();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// niftysave-indexer from block 0: until its cursor passes the head (every
// transfer, token, owner and balance stored), and until its URI reader has
// read every token's URI (the two run side by side). Two rows.
std::vector<Row> RunOurs(const Options& opt, const std::string& conninfo,
                         const std::string& rpc_url, const Seeded& seeded,
                         const std::string& log_path,
                         std::vector<std::pair<uint64_t, uint64_t>>& pages) {
  const Clock::time_point start = Clock::now();
  std::vector<std::string> argv = {
      opt.indexer,
      "--database_url=" + conninfo,
      absl::StrCat("--chain_id=", kChainId),
      "--rpc_url=" + rpc_url,
      "--start_block=0",
      "--confirmations=0",
      "--poll_seconds=0.05",
      absl::StrCat("--max_block_range=", opt.max_block_range),
      absl::StrCat("--grpc_listen=127.0.0.1:", harness::PickFreePort()),
      absl::StrCat("--metrics_listen=127.0.0.1:", harness::PickFreePort())};
  argv.insert(argv.end(), opt.indexer_flags.begin(), opt.indexer_flags.end());
  auto proc = OrDie(harness::Subprocess::Start(argv, {}, log_path),
                    "start niftysave-indexer");
  // --indexer_flag=--uri_reader=false measures the follower alone.
  const bool reads_uris =
      std::find(opt.indexer_flags.begin(), opt.indexer_flags.end(),
                "--uri_reader=false") == opt.indexer_flags.end();
  pqxx::connection conn(conninfo);
  double events_seconds = -1, uris_seconds = -1;
  while (SecondsSince(start) < opt.timeout_seconds && proc->Running()) {
    pqxx::work txn(conn);
    if (events_seconds < 0) {
      pqxx::result r =
          txn.exec("SELECT next_block FROM chains WHERE chain_id = " +
                   std::to_string(kChainId));
      if (!r.empty() &&
          r[0][0].as<int64_t>() > static_cast<int64_t>(seeded.head)) {
        events_seconds = SecondsSince(start);
        if (!reads_uris) break;
      }
    } else {
      // Every token read (a URI or a recorded reason), the queue empty.
      pqxx::row r = txn.exec1(
          "SELECT (SELECT count(*) FROM tokens WHERE token_uri IS NOT NULL "
          "OR reason IS NOT NULL), (SELECT count(*) FROM work_queue "
          "WHERE queue LIKE 'read_uri:%')");
      if (r[0].as<int64_t>() >= static_cast<int64_t>(seeded.mints) &&
          r[1].as<int64_t>() == 0) {
        uris_seconds = SecondsSince(start);
        txn.commit();
        break;
      }
    }
    txn.commit();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (void)proc->Terminate(absl::Seconds(20));
  if (events_seconds >= 0 && !reads_uris) uris_seconds = 0;
  if (uris_seconds < 0) {
    Die("niftysave-indexer",
        absl::DeadlineExceededError(harness::TailOfFile(log_path)));
  }
  std::ifstream log(log_path);
  uint64_t uri_batches = 0;
  for (std::string line; std::getline(log, line);) {
    nlohmann::json j =
        nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    if (j.value("msg", "") == "read token URIs") ++uri_batches;
    if (j.value("msg", "") != "indexed range") continue;
    uint64_t from = 0, to = 0;
    if (absl::SimpleAtoi(j.value("from", ""), &from) &&
        absl::SimpleAtoi(j.value("to", ""), &to)) {
      pages.emplace_back(from, to);
    }
  }
  const uint64_t stored =
      QueryInt(conninfo, "SELECT count(*) FROM transfers").value_or(0);
  const int64_t uris =
      QueryInt(conninfo,
               "SELECT count(*) FROM tokens WHERE token_uri IS NOT NULL")
          .value_or(0);
  const int64_t tokens =
      QueryInt(conninfo, "SELECT count(*) FROM tokens").value_or(0);
  Row events{.contender = "niftysave-indexer: every transfer and token stored",
             .seconds = events_seconds,
             .stored = stored,
             .note = absl::StrCat(pages.size(), " pages, ", tokens, " tokens")};
  Row all{.contender = "niftysave-indexer: ... and every tokenURI/uri read",
          .seconds = uris_seconds,
          .stored = stored,
          .note = absl::StrCat(uris, " URIs in ", uri_batches, " batches")};
  if (!reads_uris) return {events};
  if (static_cast<uint64_t>(uris) != seeded.mints ||
      static_cast<uint64_t>(tokens) != seeded.mints) {
    all.note += absl::StrCat(" (expected ", seeded.mints, ": MISMATCH)");
    all.stored = 0;  // fails the run
  }
  return {events, all};
}

// Postgres alone: the rows the indexer stored (transfers, tokens and their
// URI-read queue items) inserted again, table to table, into copies with the
// same indexes and constraints. No parsing, no network, one statement per
// table: what storing these records costs the server, whoever writes them.
Row RunPostgresFloor(const std::string& conninfo) {
  pqxx::connection c(conninfo);
  {
    pqxx::work txn(c);
    txn.exec(
        "CREATE TABLE floor_transfers (LIKE transfers INCLUDING ALL);"
        "CREATE TABLE floor_tokens (LIKE tokens INCLUDING ALL);"
        "CREATE TABLE floor_queue (LIKE work_queue INCLUDING ALL);"
        "CREATE TABLE floor_balances (LIKE erc1155_balances INCLUDING ALL)");
    txn.commit();
  }
  const Clock::time_point start = Clock::now();
  pqxx::work txn(c);
  txn.exec(
      "INSERT INTO floor_transfers SELECT * FROM transfers;"
      "INSERT INTO floor_tokens SELECT * FROM tokens;"
      "INSERT INTO floor_queue SELECT * FROM work_queue;"
      "INSERT INTO floor_balances SELECT * FROM erc1155_balances");
  txn.commit();
  const double seconds = SecondsSince(start);
  return {.contender =
              "Postgres floor: the same rows inserted again, table to table",
          .seconds = seconds,
          .note = "transfers, tokens, queue items, balances; same indexes",
          .floor = true};
}

// The floor: anvil serving the same eth_getLogs pages, back to back.
Row RunFloor(const std::string& rpc_url,
             const std::vector<std::pair<uint64_t, uint64_t>>& pages) {
  http::HttpClientOptions http_options;
  http_options.limits.max_body_bytes = size_t{1} << 30;
  http_options.limits.total_timeout = absl::Seconds(600);
  http::HttpClient http(http_options);
  std::vector<std::string> bodies;
  for (const auto& [from, to] : pages) {
    nlohmann::json filter = {{"fromBlock", eth::ToQuantity(from)},
                             {"toBlock", eth::ToQuantity(to)},
                             {"topics", {eth::IndexedTopics()}}};
    bodies.push_back(nlohmann::json({{"jsonrpc", "2.0"},
                                     {"id", 1},
                                     {"method", "eth_getLogs"},
                                     {"params", {filter}}})
                         .dump());
  }
  uint64_t bytes = 0, logs = 0;
  const Clock::time_point start = Clock::now();
  std::vector<std::string> replies;
  for (const std::string& body : bodies) {
    http::HttpRequest request;
    request.method = "POST";
    request.url = rpc_url;
    request.headers = {"Content-Type: application/json"};
    request.body = body;
    http::HttpResponse r = OrDie(http.Do(request), "eth_getLogs");
    if (r.status != 200)
      Die("eth_getLogs", absl::InternalError(r.body.substr(0, 200)));
    bytes += r.body.size();
    replies.push_back(std::move(r.body));
  }
  const double seconds = SecondsSince(start);
  for (const std::string& reply : replies) {  // counted after the clock
    for (size_t at = reply.find("\"logIndex\""); at != std::string::npos;
         at = reply.find("\"logIndex\"", at + 1)) {
      ++logs;
    }
  }
  return {.contender = "RPC floor: anvil serving the same eth_getLogs pages",
          .seconds = seconds,
          .note = absl::StrCat(logs, " logs, ", bytes / 1000000, " MB"),
          .floor = true};
}

// Ponder from block 0 until its transfer table holds every transfer.
Row RunPonder(const Options& opt, harness::PostgresServer& pg,
              const std::string& rpc_url, const Seeded& seeded, bool read_uris,
              const std::string& log_path) {
  const std::string db = read_uris ? "ponder_uris" : "ponder";
  if (absl::Status s = pg.CreateDatabase(db); !s.ok())
    Die("create database", s);
  const std::string conninfo = pg.ConnectionString(db);
  const int port = harness::PickFreePort();
  std::vector<std::string> erc721, erc1155;
  for (const auto& a : seeded.erc721) erc721.push_back("0x" + a);
  for (const auto& a : seeded.erc1155) erc1155.push_back("0x" + a);
  const Clock::time_point start = Clock::now();
  auto proc = OrDie(
      harness::Subprocess::Start(
          {"sh", "-c",
           absl::StrCat("cd '", opt.ponder_dir,
                        "' && exec node "
                        "node_modules/ponder/dist/esm/bin/ponder.js start "
                        "--schema bench --port ",
                        port)},
          {{"DATABASE_URL", conninfo},
           {"PONDER_RPC_URL", rpc_url},
           {"PONDER_CHAIN_ID", std::to_string(kChainId)},
           {"PONDER_ERC721", absl::StrJoin(erc721, ",")},
           {"PONDER_ERC1155", absl::StrJoin(erc1155, ",")},
           {"PONDER_READ_URIS", read_uris ? "1" : "0"},
           {"PONDER_TELEMETRY_DISABLED", "true"},
           {"NODE_ENV", "production"}},
          log_path),
      "start ponder");
  double started = -1, seconds = -1;
  int64_t stored = 0;
  while (SecondsSince(start) < opt.timeout_seconds && proc->Running()) {
    if (started < 0 && harness::CheckTcp(port).ok())
      started = SecondsSince(start);
    stored = QueryInt(conninfo, "SELECT count(*) FROM bench.transfer_event")
                 .value_or(0);
    if (stored >= static_cast<int64_t>(seeded.transfers)) {
      seconds = SecondsSince(start);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  (void)proc->Terminate(absl::Seconds(10));
  if (seconds < 0) {
    Die("ponder",
        absl::DeadlineExceededError(absl::StrCat(
            "stored ", stored, " of ", seeded.transfers,
            " transfers; log tail:\n", harness::TailOfFile(log_path))));
  }
  Row row{
      .contender = read_uris
                       ? "ponder 1.0.0 + tokenURI/uri of every mint (same work)"
                       : "ponder 1.0.0 (transfers and owners, no URIs)",
      .seconds = seconds,
      .stored = static_cast<uint64_t>(stored)};
  row.note = absl::StrCat("its HTTP server up after ",
                          absl::StrFormat("%.1f", started), " s");
  if (read_uris) {
    const int64_t uris =
        QueryInt(conninfo,
                 "SELECT count(*) FROM bench.token WHERE uri IS NOT NULL")
            .value_or(0);
    absl::StrAppend(&row.note, ", ", uris, " URIs");
  }
  return row;
}

int Main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string key = arg.substr(0, eq),
                      value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (key == "--indexer") {
      opt.indexer = value;
    } else if (key == "--ponder_dir") {
      opt.ponder_dir = value;
    } else if (key == "--ponder_uris") {
      opt.ponder_uris = value != "0";
    } else if (key == "--scale" && absl::SimpleAtod(value, &opt.scale) &&
               opt.scale > 0 && opt.scale <= 10) {
    } else if (key == "--max_block_range" &&
               absl::SimpleAtoi(value, &opt.max_block_range) &&
               opt.max_block_range >= 1) {
    } else if (key == "--pg_log_ms" &&
               absl::SimpleAtoi(value, &opt.pg_log_ms)) {
    } else if (key == "--log_dir") {
      opt.log_dir = value;
    } else if (key == "--indexer_flag") {
      opt.indexer_flags.push_back(value);
    } else {
      std::fprintf(
          stderr,
          "usage: indexer_bench --indexer=PATH [--ponder_dir=DIR] "
          "[--ponder_uris=0|1] [--scale=0<S<=10] [--max_block_range=N] "
          "[--log_dir=DIR]\nbad argument: %s\n",
          arg.c_str());
      return 2;
    }
  }
  if (opt.indexer.empty()) {
    std::fprintf(stderr, "indexer_bench: --indexer=PATH is required\n");
    return 2;
  }
  harness::TempDir logs_tmp =
      OrDie(harness::TempDir::Create("indexer-bench"), "temp dir");
  const std::string log_dir =
      opt.log_dir.empty() ? logs_tmp.path() : opt.log_dir;
  for (const char* name :
       {"anvil.log", "indexer.log", "ponder.log", "ponder_uris.log"}) {
    std::remove((log_dir + "/" + name).c_str());  // logs are appended to
  }

  auto pg = OrDie(harness::PostgresServer::Start(), "postgres");
  const std::string conninfo = pg->ConnectionString();
  OrDie(db::Migrate(conninfo), "migrate");
  if (opt.pg_log_ms >= 0) {  // slow statements into the server's log
    pqxx::connection c(conninfo);
    pqxx::nontransaction txn(c);
    txn.exec(absl::StrCat("ALTER SYSTEM SET log_min_duration_statement = ",
                          opt.pg_log_ms));
    txn.exec("SELECT pg_reload_conf()");
  }

  const int anvil_port = harness::PickFreePort();
  // anvil spills older blocks' states under $HOME and never removes them;
  // a home of its own is removed with the run (see harness::AnvilNode).
  const harness::TempDir anvil_home =
      OrDie(harness::TempDir::Create("niftysave-anvil"), "anvil home");
  auto anvil = OrDie(
      harness::Subprocess::Start(
          {kAnvil, "--host", "127.0.0.1", "--port", std::to_string(anvil_port),
           "--chain-id", std::to_string(kChainId), "--gas-limit", "1000000000",
           "--accounts", "10", "--quiet"},
          {{"HOME", anvil_home.path()}}, log_dir + "/anvil.log"),
      "start anvil");
  if (absl::Status s = harness::WaitForTcp(anvil_port, absl::Seconds(30));
      !s.ok()) {
    Die("anvil", s);
  }
  const std::string rpc_url = absl::StrCat("http://127.0.0.1:", anvil_port);
  harness::DevChain dev(rpc_url);

  const Clock::time_point seed_start = Clock::now();
  const Seeded seeded = Seed(dev, opt.scale);
  std::printf(
      "chain: %zu ERC-721 + %zu ERC-1155 contracts, %llu transactions, %llu "
      "blocks, "
      "%llu logs = %llu transfers (%llu mints), seeded in %.1f s\n",
      seeded.erc721.size(), seeded.erc1155.size(),
      static_cast<unsigned long long>(seeded.txs),
      static_cast<unsigned long long>(seeded.head + 1),
      static_cast<unsigned long long>(seeded.logs),
      static_cast<unsigned long long>(seeded.transfers),
      static_cast<unsigned long long>(seeded.mints), SecondsSince(seed_start));
  std::fflush(stdout);

  std::vector<Row> rows;
  std::vector<std::pair<uint64_t, uint64_t>> pages;
  for (Row& r : RunOurs(opt, conninfo, rpc_url, seeded,
                        log_dir + "/indexer.log", pages)) {
    rows.push_back(std::move(r));
  }
  const Row floor = RunFloor(rpc_url, pages);
  rows.push_back(floor);
  rows.push_back(RunPostgresFloor(conninfo));
  if (!opt.ponder_dir.empty()) {
    rows.push_back(
        RunPonder(opt, *pg, rpc_url, seeded, false, log_dir + "/ponder.log"));
    if (opt.ponder_uris) {
      rows.push_back(RunPonder(opt, *pg, rpc_url, seeded, true,
                               log_dir + "/ponder_uris.log"));
    }
  }

  std::printf("%-62s %9s %10s %9s  %s\n", "contender", "seconds", "events/s",
              "x floor", "stored / notes");
  bool ok = true;
  for (const Row& r : rows) {
    const bool is_floor = r.floor;
    std::string stored =
        is_floor ? r.note : absl::StrCat(r.stored, " transfers; ", r.note);
    if (!is_floor && r.stored != seeded.transfers) {
      ok = false;
      stored += "  MISMATCH";
    }
    std::printf("%-62s %9.2f %10.0f %9.2f  %s\n", r.contender.c_str(),
                r.seconds, seeded.transfers / r.seconds,
                r.seconds / floor.seconds, stored.c_str());
  }
  std::printf(
      "events = transfers stored (one per ERC-721 Transfer, one per id of an "
      "ERC-1155 TransferSingle/TransferBatch): %llu\n",
      static_cast<unsigned long long>(seeded.transfers));
  if (!opt.log_dir.empty()) std::printf("logs: %s\n", log_dir.c_str());
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace niftysave::bench

int main(int argc, char** argv) { return niftysave::bench::Main(argc, argv); }
