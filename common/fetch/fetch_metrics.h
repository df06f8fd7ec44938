#pragma once

#include "common/fetch/cid_verifier.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace niftysave::fetch {

// The fetchers' counters, in a family the service registers under its own
// prefix (niftysave_<service>_cid_verifications_total) and hands to the
// fetchers (FetcherOptions::metrics), labelled
//   result=verified|mismatch|unverifiable
// one count per gateway answer to a bare CID (a lying gateway counts one
// mismatch even when the next gateway's bytes are verified).
class FetchMetrics {
 public:
  explicit FetchMetrics(prometheus::Family<prometheus::Counter>& family);

  // Thread-safe; kNotChecked is not counted.
  void CountVerification(CidVerification result);

 private:
  prometheus::Counter* verified_;
  prometheus::Counter* mismatch_;
  prometheus::Counter* unverifiable_;
};

}  // namespace niftysave::fetch
