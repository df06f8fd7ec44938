// uri::ResolveUri on arbitrary input. Properties: no crash; a resolved URI
// has the fields its kind promises; resolving the normalised form again gives
// the same kind and the same normalised form (normalisation is idempotent,
// so one resource has one key).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/uri/cid.h"
#include "common/uri/token_uri.h"
#include "fuzz/fuzz_check.h"

namespace uri = niftysave::uri;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const uri::ResolvedUri r = uri::ResolveUri(input);
  if (r.kind == uri::UriKind::kInvalid) {
    FUZZ_CHECK(!r.reason.empty());
    return 0;
  }
  FUZZ_CHECK(!r.normalized.empty());
  FUZZ_CHECK(r.path.empty() || r.path.front() == '/');
  if (r.kind == uri::UriKind::kIpfs) {
    auto cid = uri::ParseCid(r.cid);
    FUZZ_CHECK(cid.ok());
    FUZZ_CHECK(cid->ToString() == r.cid);
  }
  const uri::ResolvedUri again = uri::ResolveUri(r.normalized);
  FUZZ_CHECK(again.kind == r.kind);
  FUZZ_CHECK(again.normalized == r.normalized);
  FUZZ_CHECK(again.cid == r.cid);
  FUZZ_CHECK(again.path == r.path);
  return 0;
}
