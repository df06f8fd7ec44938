#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/http/ca_bundle.h"
#include "common/http/http_client.h"

namespace niftysave::http {

struct MultiClientOptions {
  HttpClientOptions http;  // limits, SSRF guard, extra CA, user agent
  // Transfers running at once, over all hosts; the rest wait in line.
  int max_in_flight = 256;
  // Transfers running at once against one host:port (counted by the URL
  // asked for; redirect hops run under their first host's slot).
  int max_per_host = 64;
  // Transfers started per second against one host:port (token bucket,
  // burst = max(1, rate)); 0 = unlimited.
  double per_host_rps = 0;
  // No header byte by then: the transfer fails with `timeout`. Checked about
  // once a second. InfiniteDuration() turns it off.
  absl::Duration first_byte_timeout = absl::Seconds(15);
  // Requests waiting for a slot; beyond this Submit fails at once with
  // ResourceExhausted (`overloaded`), so a caller cannot grow memory
  // without bound.
  size_t max_queued = 100000;
};

// An asynchronous HTTP engine: one thread drives every transfer through
// curl_multi, so thousands can be in flight at a few KiB each. HTTP/2 is
// used where the server offers it over TLS, with streams multiplexed on one
// connection. Same requests, limits and reasons as HttpClient (see
// curl_common.h), plus the caps above.
//
// Callbacks run on the engine's thread: they must be quick (hand CPU work
// to a pool) and may submit more requests. Destroying the client cancels
// what is left (callbacks get Cancelled).
class MultiClient {
 public:
  using Callback = std::function<void(absl::StatusOr<HttpResponse>)>;

  explicit MultiClient(MultiClientOptions options);
  ~MultiClient();
  MultiClient(const MultiClient&) = delete;
  MultiClient& operator=(const MultiClient&) = delete;

  // Any HTTP answer is a success; only transport failures are errors.
  void Do(HttpRequest request, Callback done);
  // Succeeds only on 2xx, with HttpClient::Fetch's reasons.
  void Fetch(HttpRequest request, Callback done);
  std::future<absl::StatusOr<HttpResponse>> Fetch(HttpRequest request);

  struct Stats {
    int64_t in_flight = 0;       // transfers running now
    int64_t queued = 0;          // waiting for a slot
    int64_t peak_in_flight = 0;  // most at once since start
    int64_t completed = 0;
  };
  Stats stats() const;
  const MultiClientOptions& options() const { return options_; }

 private:
  struct Transfer;
  struct Host {
    int active = 0;
    std::deque<std::unique_ptr<Transfer>> waiting;
    double tokens = 0;
    absl::Time refilled = absl::InfinitePast();
    bool listed = false;  // in ready_hosts_
  };

  void Submit(HttpRequest request, bool only_2xx, Callback done);
  void Loop();
  // Starts waiting transfers while the caps allow; returns how long until a
  // rate-limited host gets its next token (InfiniteDuration if none waits).
  absl::Duration StartReady(absl::Time now);
  bool TakeToken(Host& host, absl::Time now, absl::Duration* wait);
  void Start(std::unique_ptr<Transfer> transfer, Host& host);
  void Finish(Transfer* transfer, absl::StatusOr<HttpResponse> result);
  void CancelEverything();

  const MultiClientOptions options_;
  // System CAs + ca_file; curl caches the parsed file per multi handle.
  const CaBundleFile ca_bundle_;
  void* multi_ = nullptr;  // CURLM*

  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<Transfer>> incoming_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);

  // Loop thread only.
  absl::flat_hash_map<std::string, Host> hosts_;
  std::deque<std::string> ready_hosts_;    // hosts with waiting transfers
  absl::flat_hash_set<Transfer*> active_;  // owned through CURLOPT_PRIVATE
  int64_t running_ = 0;
  int64_t waiting_ = 0;

  std::thread thread_;
};

}  // namespace niftysave::http
