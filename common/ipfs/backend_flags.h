#pragma once

#include "common/ipfs/backend_factory.h"

namespace niftysave::ipfs {

// The pin backend flags, shared by the pinner (which pins) and the tracker
// (which checks pins) so both always talk to the same backend:
//   --pin_backend, --kubo_api_url, --pinning_service_url,
//   --pinning_service_token (prefer NIFTYSAVE_PINNING_SERVICE_TOKEN),
//   --car_store_dir.
// Validated; a bad value exits 2 naming the flag. The caller sets the
// pinner-only limits (pin_timeout, max_upload_bytes) on the result.
BackendConfig BackendConfigFromFlags();

}  // namespace niftysave::ipfs
