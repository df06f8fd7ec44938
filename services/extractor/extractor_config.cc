#include "services/extractor/extractor_config.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "common/fetch/fetch_flags.h"
#include "common/runtime/flags.h"

ABSL_FLAG(int64_t, max_metadata_bytes, 16 << 20,
          "largest token URI document fetched (1 KiB-256 MiB)");
ABSL_FLAG(double, fetch_timeout_seconds, 30,
          "total time for one fetch (1-600)");
ABSL_FLAG(int, max_redirects, 5, "redirects followed per fetch (0-20)");
ABSL_FLAG(int, max_buffered_mb, 384,
          "MiB the bodies being fetched and the results waiting for their "
          "write may hold at once: each leased item reserves 64 KiB, grown "
          "as its body arrives, then its body's size until written; a body "
          "that outgrows what is free starts over once a whole "
          "--max_metadata_bytes is free (16-65536, at least twice "
          "--max_metadata_bytes)");
ABSL_FLAG(int, max_in_flight, 256,
          "tokens being fetched or parsed at once; as many more may wait "
          "for their write (1-10000)");
ABSL_FLAG(int, max_per_host, 64,
          "fetches at once against one host:port (1-10000)");
ABSL_FLAG(double, per_host_rps, 0,
          "fetches started per second per host:port; 0 = unlimited (0-100000)");
ABSL_FLAG(double, first_byte_timeout_seconds, 15,
          "time allowed until a response's first byte (1-600)");
ABSL_FLAG(int, write_gather_ms, 100,
          "how long a write waits for a whole --batch_size of finished tokens "
          "to gather, from the oldest waiting (0-10000; 0: it writes what it "
          "finds)");
ABSL_FLAG(std::string, pinner_addr, "",
          "pinner gRPC host:port to notify (optional)");
ABSL_FLAG(int, notify_window_ms, 100,
          "the pinner hand-offs of this long, from the first, go out as one "
          "call (0: one call per write, from its writer) (0-5000)");

namespace niftysave::extractor {
namespace {

// The two HTTP engines: user URLs under the SSRF guard and per-host limits;
// the operator's gateways on the first hop, their redirects judged like
// user URLs (see HttpClientOptions::trust_first_hop), and not rate limited
// per host.
void ReadHttp(const fetch::FetchFlags& fetch_flags, size_t max_bytes,
              ExtractorConfig& config) {
  const http::HttpLimits limits{
      .max_body_bytes = max_bytes,
      .total_timeout = config.fetch_timeout,
      .max_redirects = GetFlagInRange(FLAGS_max_redirects, 0, 20)};
  const int in_flight = GetFlagInRange(FLAGS_max_in_flight, 1, 10000);
  const http::MultiClientOptions multi{
      .max_in_flight = in_flight,
      .max_per_host = GetFlagInRange(FLAGS_max_per_host, 1, 10000),
      .per_host_rps = GetFlagInRange(FLAGS_per_host_rps, 0.0, 1e5),
      .first_byte_timeout = absl::Seconds(
          GetFlagInRange(FLAGS_first_byte_timeout_seconds, 1.0, 600.0))};
  config.user_http = config.gateway_http = multi;
  config.user_http.http = {.limits = limits,
                           .address_policy = fetch_flags.address_policy,
                           .ca_file = fetch_flags.ca_file};
  config.gateway_http.http = {.limits = limits,
                              .address_policy = fetch_flags.address_policy,
                              .trust_first_hop = true,
                              .ca_file = fetch_flags.ca_file};
  config.gateway_http.per_host_rps = 0;
  config.gateway_http.max_per_host = in_flight;
}

}  // namespace

ExtractorConfig ReadExtractorConfig() {
  ExtractorConfig config;
  const fetch::FetchFlags fetch_flags =
      fetch::FetchFlagsFromFlags(/*require_gateway=*/true);
  const int64_t max_bytes = absl::GetFlag(FLAGS_max_metadata_bytes);
  if (max_bytes < 1024 || max_bytes > (256 << 20))
    DieWithConfigError("max_metadata_bytes", "must be 1 KiB-256 MiB");
  config.fetch_timeout =
      absl::Seconds(GetFlagInRange(FLAGS_fetch_timeout_seconds, 1.0, 600.0));
  ReadHttp(fetch_flags, static_cast<size_t>(max_bytes), config);
  config.queue = ReadQueueWorkerFlags();
  config.fetcher = {.ipfs_gateways = fetch_flags.ipfs_gateways,
                    .arweave_gateway = fetch_flags.arweave_gateway,
                    .max_bytes = static_cast<size_t>(max_bytes),
                    .ipfs_api_url = fetch_flags.ipfs_api_url};
  const int in_flight = config.user_http.max_in_flight;
  const int batch = config.queue.batch_size;
  config.worker = {
      .max_in_flight = in_flight,
      .lease_batch = batch,
      // Top up in sixteenths of the cap rather than whole batches.
      .lease_when_free = std::max(1, std::min(batch, in_flight / 16)),
      .parse_threads = config.queue.workers,
      .write_batch = batch,
      .write_gather =
          absl::Milliseconds(GetFlagInRange(FLAGS_write_gather_ms, 0, 10000)),
      .max_buffered_bytes =
          int64_t{GetFlagInRange(FLAGS_max_buffered_mb, 16, 65536)} << 20,
      .max_item_bytes = max_bytes};
  // An item checking content against an on-chain hash may need two whole
  // bodies at once; with less, it could never start.
  if (config.worker.max_buffered_bytes < 2 * max_bytes) {
    DieWithConfigError("max_buffered_mb",
                       "must be at least twice --max_metadata_bytes");
  }
  config.pinner_addr = absl::GetFlag(FLAGS_pinner_addr);
  config.notify_window =
      absl::Milliseconds(GetFlagInRange(FLAGS_notify_window_ms, 0, 5000));
  return config;
}

}  // namespace niftysave::extractor
