#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "common/fetch/content_fetcher.h"
#include "common/http/multi_client.h"
#include "common/service/queue_worker_flags.h"
#include "services/extractor/extraction_worker.h"

namespace niftysave::extractor {

// Everything the extractor's flags say, read and range-checked before
// anything connects.
struct ExtractorConfig {
  // --workers (parse threads), --batch_size, --max_attempts, --poll_seconds.
  QueueWorkerFlags queue;
  // Token URIs, judged by the SSRF guard on every hop.
  http::MultiClientOptions user_http;
  // The operator's gateways: trusted on the first hop, not rate limited.
  http::MultiClientOptions gateway_http;
  // FetcherOptions::metrics is left for main to wire.
  fetch::FetcherOptions fetcher;
  // All but `writers`, which depends on the database pool's size.
  ExtractionWorkerOptions worker;
  absl::Duration fetch_timeout;
  std::string pinner_addr;       // "" = no notifications
  absl::Duration notify_window;  // pinner hand-offs gathered this long
};

ExtractorConfig ReadExtractorConfig();

}  // namespace niftysave::extractor
