#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eth/token_key.h"

namespace niftysave::db {
class Pool;
}

namespace niftysave::tracker {

// One contract's tokens by status, and the failures by reason.
struct ContractStatus {
  uint64_t chain_id = 0;
  std::string contract;  // 40 lower-case hex digits, no 0x
  std::string standard;  // erc721, erc1155
  std::string name;
  std::string symbol;
  int64_t indexed = 0;  // every token: the sum of the five below
  int64_t queued = 0;
  int64_t extracted = 0;
  int64_t archived = 0;
  int64_t partial = 0;
  int64_t failed = 0;
  // Failed tokens, and partial tokens, by reason: most first, then by name.
  std::vector<std::pair<std::string, int64_t>> failures;
  std::vector<std::pair<std::string, int64_t>> partial_failures;
  std::string computed_at;  // RFC 3339, the database's clock

  int64_t in_progress() const { return queued + extracted; }
};

// The contract of a request from outside: chain_id set, the address "0x" +
// 40 hex digits in any case (the rules of eth::ParseTokenKey).
// InvalidArgument otherwise.
struct ContractRef {
  uint64_t chain_id = 0;
  std::string contract;  // 40 lower-case hex digits, no 0x
};
absl::StatusOr<ContractRef> ParseContractRef(uint64_t chain_id,
                                             const std::string& contract);

// Where GetContractStatus reads from (an interface so the gRPC adapter can
// be built without a database).
class ContractStatusSource {
 public:
  virtual ~ContractStatusSource() = default;
  // nullopt when the contract is not indexed on that chain.
  virtual absl::StatusOr<std::optional<ContractStatus>> Get(
      const ContractRef& ref) = 0;
};

// Counts from Postgres in one statement and one round trip: the contract row
// by its primary key, and its tokens grouped by (status, reason) through the
// tokens_contract_status index (migration 0006), so the cost follows the size
// of the contract, not of the table.
class PgContractStatus final : public ContractStatusSource {
 public:
  explicit PgContractStatus(db::Pool& pool) : pool_(pool) {}
  absl::StatusOr<std::optional<ContractStatus>> Get(
      const ContractRef& ref) override;

  // The statement, for tests that check its plan.
  static const char* Sql();

 private:
  db::Pool& pool_;
};

}  // namespace niftysave::tracker
