// eth::ParseLogsReply (the indexer's simdjson reading of an eth_getLogs
// reply, straight from the RPC node) on arbitrary bodies, then DecodeLog on
// each entry. Properties: no crash; never more logs than the cap; and where
// nlohmann also reads the body as a reply with a result array (and no
// object repeats a key), each entry decodes to the same outcome (event or
// reason) by both paths.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/eth/events.h"
#include "common/runtime/reason.h"
#include "fuzz/fuzz_check.h"
#include "nlohmann/json.hpp"

namespace {

// True when some object in `body` repeats a key. JSON leaves the meaning of
// a repeated key open (simdjson's reader takes the first, nlohmann the
// last), so the two readers are only compared on bodies without one.
bool HasRepeatedKey(const std::string& body) {
  struct Sax : nlohmann::json_sax<nlohmann::json> {
    std::vector<std::set<std::string>> keys;
    bool repeated = false;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override {
      keys.emplace_back();
      return true;
    }
    bool key(string_t& k) override {
      if (!keys.back().insert(k).second) repeated = true;
      return true;
    }
    bool end_object() override {
      keys.pop_back();
      return true;
    }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t, const std::string&,
                     const nlohmann::detail::exception&) override {
      return false;
    }
  } sax;
  nlohmann::json::sax_parse(body, &sax, nlohmann::json::input_format_t::json,
                            /*strict=*/true);
  return sax.repeated;
}

}  // namespace

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
  if (doc.is_object() && doc.contains("result") && doc["result"].is_array() &&
      !HasRepeatedKey(body)) {
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
