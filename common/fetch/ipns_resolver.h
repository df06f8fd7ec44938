#pragma once

// IPNS names resolved through an IPFS node's RPC API (kubo's
// `POST /api/v0/name/resolve?arg=<name>&recursive=true`, which js-ipfs
// serves too), so the content behind a name is fetched, and verified, as the
// CID it points to now. Shared by both fetchers: they send the request with
// their own HTTP engine.

#include <string>

#include "absl/status/statusor.h"
#include "common/http/http_client.h"
#include "common/uri/token_uri.h"

namespace niftysave::fetch {

// The longest answer and resolved path accepted from the API.
inline constexpr size_t kMaxNameResolveBytes = 64 << 10;
inline constexpr size_t kMaxResolvedPathBytes = 4096;

// The name/resolve call for `name` on the API at `api_url`
// ("http://127.0.0.1:5001"), with `limits` but a 64 KiB body cap.
http::HttpRequest NameResolveRequest(const std::string& api_url,
                                     const std::string& name,
                                     http::HttpLimits limits);

// The API's answer (any HTTP status: HttpClient::Do) as the IPFS content
// `ipns` names: kind kIpfs, the resolved CID and the resolved path followed
// by `ipns.path`. Failures: `ipns_unresolved` (NotFound: the node found no
// record for the name), `ipns_api_unavailable` (Unavailable: transport,
// timeout or an API error other than "not resolved"), `ipns_invalid`
// (DataLoss: an answer that is not JSON, too long, or not an /ipfs/ path).
absl::StatusOr<uri::ResolvedUri> ParseNameResolve(
    const absl::StatusOr<http::HttpResponse>& answer,
    const uri::ResolvedUri& ipns);

}  // namespace niftysave::fetch
