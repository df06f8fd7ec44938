#include "services/indexer/contract_family.h"

#include <cstdint>

#include "absl/strings/numbers.h"

namespace niftysave::indexer {

const std::vector<const ContractFamily*>& Families() {
  static const std::vector<const ContractFamily*> kFamilies = {
      &ZoraMediaFamily(),
  };
  return kFamilies;
}

const ContractFamily* FamilyNamed(absl::string_view name) {
  for (const ContractFamily* f : Families()) {
    if (f->name() == name) return f;
  }
  return nullptr;
}

const ContractFamily* FamilyOfCode(absl::string_view code) {
  for (const ContractFamily* f : Families()) {
    if (f->Recognizes(code)) return f;
  }
  return nullptr;
}

bool CodePushesSelector(absl::string_view code, absl::string_view selector) {
  uint32_t want = 0;
  if (selector.size() != 8 || !absl::SimpleHexAtoi(selector, &want)) {
    return false;
  }
  constexpr uint8_t kPush1 = 0x60, kPush32 = 0x7f;
  for (size_t i = 0; i < code.size(); ++i) {
    const uint8_t op = static_cast<uint8_t>(code[i]);
    if (op < kPush1 || op > kPush32) continue;
    const size_t n = op - kPush1 + 1;
    if (n <= 4 && i + n < code.size()) {
      uint32_t value = 0;
      for (size_t k = 1; k <= n; ++k) {
        value = (value << 8) | static_cast<uint8_t>(code[i + k]);
      }
      if (value == want) return true;
    }
    i += n;  // push data is not code
  }
  return false;
}

}  // namespace niftysave::indexer
