#pragma once

#include <cstdint>
#include <vector>

#include "pqxx/pqxx"

namespace niftysave::db {

// Recomputes the status of tokens from their resources, in the caller's
// transaction: `archived` when the metadata and every asset are pinned,
// `failed` (with the first failed resource's reason and JSON path) when any
// failed, `extracted` while pins are in flight. Only tokens past extraction
// are touched. The one place this rule lives: the extractor, pinner and
// tracker all call it after changing resources.
void RollUpTokens(pqxx::work& txn, const std::vector<int64_t>& token_pks);

// The same, for every token linking any of `resource_ids`.
void RollUpTokensOfResources(pqxx::work& txn,
                             const std::vector<int64_t>& resource_ids);

}  // namespace niftysave::db
