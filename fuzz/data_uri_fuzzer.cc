// uri::DecodeDataUri on arbitrary input, with a small cap. Properties: no
// crash; a decoded payload never exceeds the cap; the media type is lower
// case and never empty.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/uri/token_uri.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr size_t kCap = 4096;
  for (std::string candidate :
       {std::string(input), "data:" + std::string(input)}) {
    auto decoded = niftysave::uri::DecodeDataUri(candidate, kCap);
    if (!decoded.ok()) continue;
    FUZZ_CHECK(decoded->bytes.size() <= kCap);
    FUZZ_CHECK(!decoded->media_type.empty());
    for (char c : decoded->media_type) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  }
  return 0;
}
