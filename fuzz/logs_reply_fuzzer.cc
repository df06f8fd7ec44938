// eth::ParseLogsReply (the indexer's simdjson reading of an eth_getLogs
// reply, straight from the RPC node) on arbitrary bodies, then DecodeLog on
// each entry. Properties: no crash; never more logs than the cap; and where
// nlohmann also reads the body as a reply with a result array, each entry
// decodes to the same outcome (event or reason) by both paths.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/eth/events.h"
#include "common/runtime/reason.h"
#include "fuzz/fuzz_check.h"
#include "nlohmann/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  constexpr size_t kCap = 64;
  auto logs = niftysave::eth::ParseLogsReply(body, 1, kCap);
  if (!logs.ok()) {
    FUZZ_CHECK(!niftysave::ReasonOf(logs.status()).empty());
    return 0;
  }
  FUZZ_CHECK(logs->size() <= kCap);
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  const nlohmann::json* entries = nullptr;
  if (doc.is_object() && doc.contains("result") && doc["result"].is_array()) {
    entries = &doc["result"];
  }
  for (size_t i = 0; i < logs->size(); ++i) {
    auto raw = niftysave::eth::DecodeLog((*logs)[i]);
    if (entries == nullptr || entries->size() != logs->size()) continue;
    auto json = niftysave::eth::DecodeLog((*entries)[i]);
    FUZZ_CHECK(raw.ok() == json.ok());
    FUZZ_CHECK(raw.status().code() == json.status().code());
    FUZZ_CHECK(niftysave::ReasonOf(raw.status()) ==
               niftysave::ReasonOf(json.status()));
  }
  return 0;
}
