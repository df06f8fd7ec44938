#pragma once

// What a parked queue item means for the record it stands for. An item
// parked because its leases kept ending without an outcome (the worker
// crashed, hung, or could not write) would otherwise leave its token,
// resource or pin in progress for ever with no reason anywhere but the
// queue: the record is marked failed, reason `lease_expired`, in the same
// transaction that parks the item. `niftysave queue retry` puts the item
// back; its next outcome overwrites the record.

#include <cstdint>
#include <string_view>
#include <vector>

#include "pqxx/pqxx"

namespace niftysave::db {

// `queue`'s items `ids` were parked with `detail` (the queue's last_error).
// Only records still waiting for that queue's outcome change:
//   extract, read_uri:<chain>  tokens still 'queued'
//   pin                        resources still 'queued' (tokens rolled up)
//   track                      pins and their resources still in flight
//                              (tokens rolled up)
void RecordParkedWork(pqxx::work& txn, std::string_view queue,
                      const std::vector<int64_t>& ids, std::string_view detail);

}  // namespace niftysave::db
