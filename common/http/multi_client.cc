#include "common/http/multi_client.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/curl_common.h"
#include "common/runtime/reason.h"

namespace niftysave::http {

struct MultiClient::Transfer {
  HttpRequest request;
  bool only_2xx = false;
  Callback done;
  std::string host;
  HttpResponse response;
  CurlTransferState state;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;

  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
  }
};

namespace {

CURLM* Multi(void* m) { return static_cast<CURLM*>(m); }

}  // namespace

MultiClient::MultiClient(MultiClientOptions options)
    : options_(std::move(options)), ca_bundle_(options_.http.ca_file) {
  EnsureCurlGlobalInit();
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) {
    // Only fails when out of memory at start-up.
    std::abort();
  }
  multi_ = multi;
  curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(options_.max_per_host));
  // As many streams on one HTTP/2 connection as one host may have (the
  // server's own SETTINGS still apply).
  curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS,
                    static_cast<long>(std::max(100, options_.max_per_host)));
  thread_ = std::thread([this] { Loop(); });
}

MultiClient::~MultiClient() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  curl_multi_wakeup(Multi(multi_));
  thread_.join();
  curl_multi_cleanup(Multi(multi_));
}

void MultiClient::Do(HttpRequest request, Callback done) {
  Submit(std::move(request), /*only_2xx=*/false, std::move(done));
}

void MultiClient::Fetch(HttpRequest request, Callback done) {
  Submit(std::move(request), /*only_2xx=*/true, std::move(done));
}

std::future<absl::StatusOr<HttpResponse>> MultiClient::Fetch(
    HttpRequest request) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<HttpResponse>>>();
  std::future<absl::StatusOr<HttpResponse>> future = promise->get_future();
  Fetch(std::move(request), [promise](absl::StatusOr<HttpResponse> result) {
    promise->set_value(std::move(result));
  });
  return future;
}

MultiClient::Stats MultiClient::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void MultiClient::Submit(HttpRequest request, bool only_2xx, Callback done) {
  absl::StatusOr<std::string> host = HostKeyOf(request.url);
  if (!host.ok()) return done(host.status());
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->only_2xx = only_2xx;
  transfer->host = *std::move(host);
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    const size_t queued = static_cast<size_t>(stats_.queued) + incoming_.size();
    if (stopping_) {
      refused = absl::CancelledError("HTTP client shutting down");
    } else if (queued >= options_.max_queued) {
      refused = ErrorWithReason(
          absl::StatusCode::kResourceExhausted, "overloaded",
          absl::StrCat("more than ", options_.max_queued, " requests waiting"));
    } else {
      transfer->done = std::move(done);
      incoming_.push_back(std::move(transfer));
    }
  }
  if (!refused.ok()) return done(refused);
  curl_multi_wakeup(Multi(multi_));
}

bool MultiClient::TakeToken(Host& host, absl::Time now, absl::Duration* wait) {
  const double rate = options_.per_host_rps;
  if (rate <= 0) return true;
  const double burst = std::max(1.0, rate);
  if (host.refilled == absl::InfinitePast()) {
    host.tokens = burst;
  } else {
    host.tokens = std::min(
        burst, host.tokens + rate * absl::ToDoubleSeconds(now - host.refilled));
  }
  host.refilled = now;
  if (host.tokens >= 1) {
    host.tokens -= 1;
    return true;
  }
  *wait = absl::Seconds((1 - host.tokens) / rate);
  return false;
}

absl::Duration MultiClient::StartReady(absl::Time now) {
  absl::Duration next = absl::InfiniteDuration();
  // One visit per listed host: each starts what its caps allow, so a host
  // at its cap never holds up the others.
  for (size_t n = ready_hosts_.size(); n > 0; --n) {
    if (running_ >= options_.max_in_flight) break;
    std::string key = std::move(ready_hosts_.front());
    ready_hosts_.pop_front();
    Host& host = hosts_[key];
    while (!host.waiting.empty() && host.active < options_.max_per_host &&
           running_ < options_.max_in_flight) {
      absl::Duration wait;
      if (!TakeToken(host, now, &wait)) {
        next = std::min(next, wait);
        break;
      }
      std::unique_ptr<Transfer> transfer = std::move(host.waiting.front());
      host.waiting.pop_front();
      --waiting_;
      Start(std::move(transfer), host);
    }
    if (host.waiting.empty()) {
      host.listed = false;
    } else {
      ready_hosts_.push_back(std::move(key));
    }
  }
  return next;
}

void MultiClient::Start(std::unique_ptr<Transfer> transfer, Host& host) {
  Transfer& t = *transfer;
  t.easy = curl_easy_init();
  if (t.easy == nullptr) {
    t.done(absl::ResourceExhaustedError("curl_easy_init failed"));
    return;
  }
  t.state.response = &t.response;
  if (options_.first_byte_timeout != absl::InfiniteDuration()) {
    t.state.first_byte_deadline = absl::Now() + options_.first_byte_timeout;
  }
  const HttpLimits& limits =
      t.request.limits ? *t.request.limits : options_.http.limits;
  absl::Status applied =
      ApplyCurlOptions(t.easy, t.request, limits, options_.http, ca_bundle_,
                       &t.state, &t.headers);
  if (!applied.ok()) {
    t.done(applied);
    return;
  }
  curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(t.easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  // Over TLS, wait for a connection that can multiplex rather than open
  // another. Not over plain http, which never multiplexes here: there curl
  // would hold a host's new transfers until its first one is answered, so a
  // host slow to answer would fetch one document at a time at the start.
  const bool tls = absl::StartsWithIgnoreCase(t.request.url, "https:");
  curl_easy_setopt(t.easy, CURLOPT_PIPEWAIT, tls ? 1L : 0L);
  if (curl_multi_add_handle(Multi(multi_), t.easy) != CURLM_OK) {
    t.done(absl::InternalError("curl_multi_add_handle failed"));
    return;
  }
  ++host.active;
  ++running_;
  active_.insert(&t);
  transfer.release();  // owned by the easy handle (CURLOPT_PRIVATE) now
}

void MultiClient::Finish(Transfer* t, absl::StatusOr<HttpResponse> result) {
  std::unique_ptr<Transfer> owned(t);
  curl_multi_remove_handle(Multi(multi_), t->easy);
  active_.erase(t);
  --running_;
  auto it = hosts_.find(t->host);
  if (it != hosts_.end()) {
    Host& host = it->second;
    --host.active;
    // Idle hosts are forgotten unless a rate limit must remember them.
    if (host.active == 0 && host.waiting.empty() && !host.listed &&
        options_.per_host_rps <= 0) {
      hosts_.erase(it);
    }
  }
  Callback done = std::move(t->done);
  owned.reset();
  done(std::move(result));
}

void MultiClient::Loop() {
  CURLM* multi = Multi(multi_);
  for (;;) {
    std::deque<std::unique_ptr<Transfer>> arrived;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
      arrived.swap(incoming_);
      stats_.queued += static_cast<int64_t>(arrived.size());
    }
    for (std::unique_ptr<Transfer>& t : arrived) {
      Host& host = hosts_[t->host];
      if (!host.listed) {
        host.listed = true;
        ready_hosts_.push_back(t->host);
      }
      host.waiting.push_back(std::move(t));
      ++waiting_;
    }
    const absl::Duration rate_wait = StartReady(absl::Now());

    int still_running = 0;
    curl_multi_perform(multi, &still_running);
    int finished = 0;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      const CURLcode code = msg->data.result;
      absl::StatusOr<HttpResponse> result;
      if (code != CURLE_OK) {
        result = CurlFailure(code, t->state, t->request.url);
      } else {
        ReadCurlResponseInfo(t->easy, &t->response);
        absl::Status answer = t->only_2xx
                                  ? StatusOfAnswer(t->response, t->request.url)
                                  : absl::OkStatus();
        if (answer.ok()) {
          result = std::move(t->response);
        } else {
          result = answer;
        }
      }
      ++finished;
      Finish(t, std::move(result));
    }
    {
      absl::MutexLock lock(&mu_);
      stats_.in_flight = running_;
      stats_.queued = waiting_;
      stats_.peak_in_flight = std::max(stats_.peak_in_flight, running_);
      stats_.completed += finished;
    }
    if (finished > 0) continue;  // slots freed: start more before waiting
    // curl_multi_poll also returns at curl's own next timeout, when a
    // request arrives (curl_multi_wakeup) or a socket is ready.
    const absl::Duration wait = std::min(rate_wait, absl::Seconds(1));
    curl_multi_poll(multi, nullptr, 0,
                    std::max<int>(1, absl::ToInt64Milliseconds(wait)), nullptr);
  }
  CancelEverything();
}

void MultiClient::CancelEverything() {
  const absl::Status cancelled =
      absl::CancelledError("HTTP client shut down before the request ended");
  // Running transfers first: their handles are in the multi.
  std::vector<Transfer*> running(active_.begin(), active_.end());
  for (Transfer* t : running) Finish(t, cancelled);
  for (auto& [key, host] : hosts_) {
    for (auto& t : host.waiting) t->done(cancelled);
    host.waiting.clear();
  }
  std::deque<std::unique_ptr<Transfer>> incoming;
  {
    absl::MutexLock lock(&mu_);
    incoming.swap(incoming_);
  }
  for (auto& t : incoming) t->done(cancelled);
}

}  // namespace niftysave::http
