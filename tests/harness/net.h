#pragma once

// Ports and readiness probes for harness servers, all on 127.0.0.1.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace niftysave::harness {

// A port that was free on 127.0.0.1 a moment ago (bind to port 0, read it,
// close). Never returns the same port twice within one process, so servers
// started by one test cannot be handed the same port.
int PickFreePort();

// One TCP connect attempt to 127.0.0.1:port.
absl::Status CheckTcp(int port);
absl::Status WaitForTcp(int port, absl::Duration timeout);

// A minimal libcurl request, for probes and for harness tests. Proxies from
// the environment are ignored; redirects are not followed.
// (Every member has an initializer so designated initializers may skip any
// of them without tripping -Wmissing-field-initializers.)
struct HttpRequest {
  std::string method = "GET";
  std::string url{};
  std::string body{};
  std::vector<std::string> headers{};  // "Name: value"
  std::string ca_file{};               // trust this PEM for https
  absl::Duration timeout = absl::Seconds(5);
};
struct HttpResponse {
  long status = 0;
  std::string body{};
};
absl::StatusOr<HttpResponse> Fetch(const HttpRequest& request);

// OK once the URL answers with a 2xx status; each attempt times out after a
// second so a server that accepts but hangs is retried.
absl::Status CheckHttp(const std::string& url,
                       const std::string& method = "GET",
                       const std::string& ca_file = "");
absl::Status WaitForHttp(std::string url, absl::Duration timeout,
                         std::string method = "GET", std::string ca_file = "");

}  // namespace niftysave::harness
