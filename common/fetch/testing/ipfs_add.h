#pragma once

// Test helper: adds a file to the harness's js-ipfs node through its RPC API
// with the harness's own HTTP client, so a fetcher test does not depend on
// the code under test to put content on the node.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/harness/ipfs_node.h"
#include "tests/harness/net.h"

namespace niftysave::fetch::testing {

// POST /api/v0/add?<query> with `content` as the one file; the CID the node
// printed ("Hash"), in the form `query` asks for.
inline absl::StatusOr<std::string> IpfsAdd(const harness::IpfsNode& node,
                                           const std::string& content,
                                           const std::string& query) {
  const std::string boundary = "niftysave-fetch-test-boundary";
  absl::StatusOr<harness::HttpResponse> r = harness::Fetch(
      {.method = "POST",
       .url = absl::StrCat(node.api_url(), "/api/v0/add?", query),
       .body = absl::StrCat(
           "--", boundary,
           "\r\nContent-Disposition: form-data; name=\"file\"; "
           "filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n",
           content, "\r\n--", boundary, "--\r\n"),
       .headers = {"Content-Type: multipart/form-data; boundary=" + boundary}});
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::InternalError(absl::StrCat("add: HTTP ", r->status, r->body));
  }
  const nlohmann::json answer =
      nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || !answer.contains("Hash") ||
      !answer["Hash"].is_string()) {
    return absl::InternalError(absl::StrCat("add: no Hash in ", r->body));
  }
  return answer["Hash"].get<std::string>();
}

}  // namespace niftysave::fetch::testing
