#include "tests/harness/net.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace niftysave::harness {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

absl::Mutex ports_mu(absl::kConstInit);
std::set<int>* handed_out_ports ABSL_GUARDED_BY(ports_mu) = nullptr;

int BindEphemeralPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    // No free loopback port means the machine is broken; nothing to test.
    std::cerr << "PickFreePort: " << std::strerror(errno) << "\n";
    std::abort();
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// Whether `port` can be bound on loopback now.
bool CanBind(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = Loopback(port);
  const bool ok =
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// The first port of the kernel's ephemeral range (outgoing connections).
int EphemeralLow() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768, high = 60999;
  if (!(range >> low >> high)) return 32768;
  return low;
}

// A free port below the ephemeral range. A port the kernel hands out for a
// bind to port 0 comes from that range, where any outgoing connection (curl,
// a Postgres client, node) may take it between our check and the server's
// bind: a server then fails with EADDRINUSE (seen in CI). Below it only
// other listeners compete, and a random pick makes two test processes
// choosing the same port unlikely.
int PickPortBelowEphemeral() {
  static std::mt19937 rng(static_cast<uint32_t>(
      std::random_device{}() ^ static_cast<uint32_t>(getpid())));
  const int low = 10000, high = EphemeralLow() - 1;
  if (high - low < 1000) return BindEphemeralPort();
  std::uniform_int_distribution<int> pick(low, high);
  for (int i = 0; i < 100; ++i) {
    const int port = pick(rng);
    if (CanBind(port)) return port;
  }
  return BindEphemeralPort();
}

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// curl_global_init is not thread-safe; run it once before any handle.
void InitCurlOnce() {
  static const bool initialized = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)initialized;
}

}  // namespace

int PickFreePort() {
  absl::MutexLock lock(&ports_mu);
  if (handed_out_ports == nullptr) handed_out_ports = new std::set<int>();
  while (true) {
    int port = PickPortBelowEphemeral();
    if (handed_out_ports->insert(port).second) return port;
  }
}

absl::Status CheckTcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  sockaddr_in addr = Loopback(port);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  close(fd);
  if (rc != 0) {
    return absl::ErrnoToStatus(err, absl::StrCat("connect 127.0.0.1:", port));
  }
  return absl::OkStatus();
}

absl::Status WaitForTcp(int port, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::Status status = CheckTcp(port);
    if (status.ok() || absl::Now() >= deadline) return status;
    absl::SleepFor(absl::Milliseconds(50));
  }
}

absl::StatusOr<HttpResponse> Fetch(const HttpRequest& request) {
  InitCurlOnce();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(),
                                                           curl_easy_cleanup);
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  CURL* c = curl.get();
  HttpResponse response;
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      c, CURLOPT_TIMEOUT_MS,
      static_cast<long>(absl::ToInt64Milliseconds(request.timeout)));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendToString);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  if (!request.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET" || !request.body.empty()) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_slist* headers = nullptr;
  for (const std::string& h : request.headers) {
    headers = curl_slist_append(headers, h.c_str());
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(
      headers, curl_slist_free_all);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(request.method, " ", request.url,
                                               ": ", curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

absl::Status CheckHttp(const std::string& url, const std::string& method,
                       const std::string& ca_file) {
  absl::StatusOr<HttpResponse> response = Fetch({.method = method,
                                                 .url = url,
                                                 .ca_file = ca_file,
                                                 .timeout = absl::Seconds(1)});
  if (!response.ok()) return response.status();
  if (response->status < 200 || response->status > 299) {
    return absl::UnavailableError(
        absl::StrCat(method, " ", url, ": HTTP ", response->status));
  }
  return absl::OkStatus();
}

absl::Status WaitForHttp(std::string url, absl::Duration timeout,
                         std::string method, std::string ca_file) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::Status status = CheckHttp(url, method, ca_file);
    if (status.ok() || absl::Now() >= deadline) return status;
    absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace niftysave::harness
