#include "services/indexer/extractor_notifier.h"

#include "common/grpc/grpc_server.h"
#include "common/grpc/notify.h"

namespace niftysave::indexer {

ExtractorNotifier::ExtractorNotifier(const std::string& target,
                                     const GrpcClientSecurity& security) {
  if (!target.empty())
    stub_ = v1::Extractor::NewStub(MakeChannel(target, security));
}

bool ExtractorNotifier::Notify(const std::vector<eth::TokenKey>& tokens) {
  if (stub_ == nullptr || tokens.empty()) return true;
  constexpr size_t kMaxPerCall = 1000;  // the API's documented cap
  bool ok = true;
  for (size_t start = 0; start < tokens.size(); start += kMaxPerCall) {
    v1::EnqueueRequest request;
    for (size_t i = start; i < std::min(tokens.size(), start + kMaxPerCall);
         ++i) {
      v1::TokenKey* key = request.add_tokens();
      key->set_chain_id(tokens[i].chain_id);
      key->set_contract(tokens[i].ContractHex());
      key->set_token_id(tokens[i].token_id);
    }
    v1::EnqueueResponse response;
    ok &= NotifyBestEffort("extractor", [&](grpc::ClientContext* context) {
      return stub_->Enqueue(context, request, &response);
    });
  }
  return ok;
}

}  // namespace niftysave::indexer
