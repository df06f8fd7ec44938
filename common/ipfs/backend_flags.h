#pragma once

#include "common/ipfs/backend_factory.h"

namespace niftysave::ipfs {

// The pin backend flags, shared by the pinner (which pins) and the tracker
// (which checks pins) so both always talk to the same backends:
//   --pin_backend (one kind or a comma-separated list),
//   --kubo_api_url,
//   --pinning_service_url, --pinning_service_token,
//   --car_store_dir,
//   --cluster_url, --cluster_basic_auth, --cluster_token,
//   --cluster_replication_min, --cluster_replication_max, --cluster_pin_meta,
//   --car_upload_url, --car_upload_token, --car_upload_max_bytes,
//   --car_upload_temp_dir.
// Secrets are best set through their NIFTYSAVE_* environment variables.
// Validated; a bad value exits 2 naming the flag. The caller sets the
// pinner-only limits (pin_timeout, max_upload_bytes) on the result.
BackendConfig BackendConfigFromFlags();

}  // namespace niftysave::ipfs
