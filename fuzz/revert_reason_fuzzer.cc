// eth::DescribeRevertData (the text recorded for a reverted tokenURI call,
// from return data a contract chooses) on arbitrary bytes. Properties: no
// crash or out-of-bounds read (ASan), and the text is valid UTF-8 without
// NUL and at most kMaxRevertTextBytes long.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/eth/revert_reason.h"
#include "common/runtime/utf8.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = niftysave::eth::DescribeRevertData(
      std::string(reinterpret_cast<const char*>(data), size));
  FUZZ_CHECK(text.size() <= niftysave::eth::kMaxRevertTextBytes);
  FUZZ_CHECK(niftysave::IsValidUtf8(text));
  return 0;
}
