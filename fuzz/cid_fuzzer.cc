// uri::ParseCid and uri::CidFromBytes on arbitrary input. Properties: no
// crash; a parsed CID's canonical text parses back to the same CID; its
// binary form does too.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/uri/cid.h"
#include "fuzz/fuzz_check.h"

using niftysave::uri::Cid;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (auto parsed :
       {niftysave::uri::ParseCid(input), niftysave::uri::CidFromBytes(input)}) {
    if (!parsed.ok()) continue;
    const std::string text = parsed->ToString();
    auto again = niftysave::uri::ParseCid(text);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->ToString() == text);
    FUZZ_CHECK(again->codec == parsed->codec);
    FUZZ_CHECK(again->multihash == parsed->multihash);
    auto from_bytes = niftysave::uri::CidFromBytes(parsed->Bytes());
    FUZZ_CHECK(from_bytes.ok());
    FUZZ_CHECK(*from_bytes == *parsed);
    const std::string v0 = parsed->ToV0String();
    if (!v0.empty()) {
      auto from_v0 = niftysave::uri::ParseCid(v0);
      FUZZ_CHECK(from_v0.ok());
      FUZZ_CHECK(from_v0->ToString() == text);
    }
  }
  return 0;
}
