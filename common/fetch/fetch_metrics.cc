#include "common/fetch/fetch_metrics.h"

namespace niftysave::fetch {

FetchMetrics::FetchMetrics(prometheus::Family<prometheus::Counter>& family) {
  verified_ = &family.Add({{"result", "verified"}});
  mismatch_ = &family.Add({{"result", "mismatch"}});
  unverifiable_ = &family.Add({{"result", "unverifiable"}});
}

void FetchMetrics::CountVerification(CidVerification result) {
  switch (result) {
    case CidVerification::kVerified:
      verified_->Increment();
      break;
    case CidVerification::kMismatch:
      mismatch_->Increment();
      break;
    case CidVerification::kUnverifiable:
      unverifiable_->Increment();
      break;
    case CidVerification::kNotChecked:
      break;
  }
}

}  // namespace niftysave::fetch
