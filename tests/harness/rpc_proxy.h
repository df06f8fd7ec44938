#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::harness {

// A hostile JSON-RPC proxy in front of a real node (rpc_proxy.js): forwards
// every request to `upstream` and, when told to, misbehaves like public RPC
// providers do (see the kinds in rpc_proxy.js). Counts requests by method
// and logs each request's time, methods, eth_getLogs span and fault, so
// tests can assert what the client did.
class RpcProxy {
 public:
  // One misbehaviour; unset matchers match everything.
  struct Fault {
    // truncate, abort, not_json, shuffle, drop_entry, dup_entry, status,
    // rpc_error, delay.
    std::string kind;
    std::optional<std::string> method;  // any call in the request has it
    std::optional<bool> batch;          // the request is (not) a batch
    std::optional<uint64_t> min_span;   // eth_getLogs spanning >= this
    // Applies to this share of the requests it matches (drawn from a
    // generator seeded with `seed`); the others fall through to later rules.
    std::optional<double> probability;
    uint32_t seed = 1;
    int times = 1;         // -1: until ClearFaults
    int status = 503;      // kind status
    int retry_after = -1;  // kind status: seconds, -1 = none
    std::string message;   // kind rpc_error
    int code = -32005;     // kind rpc_error
    int delay_ms = 1000;   // kind delay
  };
  struct LogEntry {
    int64_t t_ms = 0;  // since the proxy started
    std::vector<std::string> methods;
    std::optional<std::pair<uint64_t, uint64_t>> span;  // eth_getLogs
    std::string fault;                                  // "" when none
  };
  struct Stats {
    int64_t requests = 0;                   // HTTP requests
    std::map<std::string, int64_t> calls;   // JSON-RPC calls by method
    std::map<std::string, int64_t> faults;  // applied, by kind
    std::vector<LogEntry> log;
  };

  static absl::StatusOr<std::unique_ptr<RpcProxy>> Start(std::string upstream);
  ~RpcProxy();

  std::string url() const;  // http://127.0.0.1:P
  // A URL where nothing listens (a free port nobody bound), for failover.
  static std::string DeadUrl();

  absl::Status AddFault(const Fault& fault);
  absl::Status ClearFaults();
  absl::Status ResetStats();
  absl::StatusOr<Stats> GetStats();
  absl::Status Stop();  // idempotent

 private:
  RpcProxy(TempDir dir, int port) : dir_(std::move(dir)), port_(port) {}
  absl::Status Control(const std::string& path, const nlohmann::json& body);

  TempDir dir_;  // the proxy's log
  int port_;
  std::unique_ptr<Subprocess> node_;
};

}  // namespace niftysave::harness
