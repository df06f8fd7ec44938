#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/db/queue_item.h"
#include "common/fetch/content_fetcher.h"
#include "common/http/http_client.h"
#include "common/ipfs/backend_factory.h"
#include "common/service/queue_worker_flags.h"
#include "services/pinner/resource_pinner.h"

namespace niftysave::pinner {

// Everything the pinner is told by its flags (pinner_config.cc holds them
// all), read and checked before anything connects.
struct PinnerConfig {
  QueueWorkerFlags queue;     // --workers --batch_size --max_attempts ...
  db::QueuePolicy pin_queue;  // the 'pin' queue's lease and attempts
  // User URLs, judged by --allow_addresses on every hop.
  http::HttpClientOptions user_http;
  // Gateways: trusted on the first hop only (HttpClientOptions::
  // trust_first_hop).
  http::HttpClientOptions gateway_http;
  // Pin backends: the operator's own endpoints, trusted on every hop, with
  // only the total timeout (they answer pin/add once the pin is done).
  http::HttpClientOptions backend_http;
  fetch::FetcherOptions fetcher;  // main sets .metrics
  ipfs::BackendConfig backends;   // --pin_backend ..., --pin_timeout_seconds
  PinnerOptions pinner;           // batch, replication, tmp_dir, byte limits
  absl::Duration fetch_timeout;   // --fetch_timeout_seconds
  std::string tracker_addr;       // "" = no hand-off (the tracker polls)
  absl::Duration notify_window;   // hand-offs gathered into one call
};

// Reads and checks the flags; a bad value exits 2 naming the flag. Call after
// InitService, before ConnectOrDie.
PinnerConfig ReadPinnerConfig();

// Sets what depends on the backends made from config.backends: the claim
// wait (longer than any backend's call, PinBackend::longest_pin_call) and
// the pin queue's lease renewal window (LongestResource).
void BoundByBackends(PinnerConfig& config,
                     const std::vector<ipfs::PinBackend*>& backends);

}  // namespace niftysave::pinner
