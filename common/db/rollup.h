#pragma once

#include <cstdint>
#include <vector>

#include "pqxx/pqxx"

namespace niftysave::db {

// Recomputes the status of tokens from their resources (the metadata document
// and every asset), in the caller's transaction. The rule, precisely (a
// resource is "in flight" while queued or pinning):
//   archived   every resource pinned;
//   failed     the metadata failed, or every resource failed;
//   partial    the metadata did not fail, at least one resource is pinned
//              and at least one asset failed (others may still be in flight);
//   extracted  otherwise: something is in flight and nothing decided yet.
// failed and partial carry the first failed resource's reason and, as
// detail, its JSON path ("token URI" for the metadata) and detail; the other
// statuses clear them. Only tokens past extraction are touched. Nothing here
// is final: a resource that is pinned later (the tracker keeps re-checking
// failed pins) moves its tokens on. The one place this rule lives: the
// extractor, pinner and tracker all call it after changing resources.
void RollUpTokens(pqxx::work& txn, const std::vector<int64_t>& token_pks);

// The same, for every token linking any of `resource_ids`.
void RollUpTokensOfResources(pqxx::work& txn,
                             const std::vector<int64_t>& resource_ids);

}  // namespace niftysave::db
