#include <cstdio>

#include "absl/strings/numbers.h"
#include "cli/commands.h"
#include "common/grpc/grpc_security_flags.h"
#include "common/grpc/grpc_server.h"
#include "google/protobuf/util/json_util.h"
#include "niftysave/v1/tracker.grpc.pb.h"

namespace niftysave::cli {
namespace {

std::string Lower(std::string s, const std::string& prefix) {
  if (s.rfind(prefix, 0) == 0) s = s.substr(prefix.size());
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void PrintResource(const char* label, const v1::Resource& r,
                   bool sha256_verified) {
  std::printf("  %-22s %s\n", label, r.uri().substr(0, 100).c_str());
  if (sha256_verified) {
    std::printf("  %-22s sha256 matches the chain's\n", "");
  }
  std::printf(
      "  %-22s %s%s\n", "",
      Lower(v1::ResourceStatus_Name(r.status()), "RESOURCE_STATUS_").c_str(),
      r.has_failure()
          ? (" (" + r.failure().reason() + ": " + r.failure().detail() + ")")
                .c_str()
          : "");
  if (!r.cid().empty())
    std::printf("  %-22s cid %s%s\n", "", r.cid().c_str(), r.path().c_str());
  for (const v1::Pin& p : r.pins()) {
    std::printf("  %-22s pin %s %s (%s)\n", "", p.backend().c_str(),
                Lower(v1::PinStatus_Name(p.status()), "PIN_STATUS_").c_str(),
                p.updated_at().c_str());
  }
}

}  // namespace

int Status(const std::vector<std::string>& args) {
  uint64_t chain_id = 0;
  if (args.size() != 3 || !absl::SimpleAtoi(args[0], &chain_id)) {
    std::fprintf(
        stderr,
        "usage: niftysave status <chain-id> <contract 0x...> <token-id>\n");
    return 2;
  }
  auto stub = v1::Tracker::NewStub(
      MakeChannel(TrackerAddr(), GrpcClientSecurityFromFlags()));
  v1::GetTokenStatusRequest request;
  request.mutable_token()->set_chain_id(chain_id);
  request.mutable_token()->set_contract(args[1]);
  request.mutable_token()->set_token_id(args[2]);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  v1::TokenStatusReport report;
  grpc::Status status = stub->GetTokenStatus(&context, request, &report);
  if (!status.ok()) {
    std::fprintf(stderr, "niftysave status: %s\n",
                 status.error_message().c_str());
    return 1;
  }
  if (JsonOutput()) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    (void)google::protobuf::util::MessageToJsonString(report, &json, options);
    std::printf("%s", json.c_str());
    return 0;
  }
  std::printf(
      "token %s/%s #%s\n", std::to_string(report.token().chain_id()).c_str(),
      report.token().contract().c_str(), report.token().token_id().c_str());
  std::printf(
      "  %-22s %s%s\n", "status",
      Lower(v1::TokenStatus_Name(report.status()), "TOKEN_STATUS_").c_str(),
      report.has_failure() ? (" (" + report.failure().reason() + ": " +
                              report.failure().detail() + ")")
                                 .c_str()
                           : "");
  std::printf("  %-22s %s\n", "owner", report.owner().c_str());
  std::printf("  %-22s %s\n", "token URI",
              report.token_uri().substr(0, 100).c_str());
  if (report.has_metadata()) {
    PrintResource("metadata", report.metadata(),
                  report.metadata_sha256_verified());
  }
  for (const v1::Asset& a : report.assets())
    PrintResource(a.json_path().c_str(), a.resource(), a.sha256_verified());
  return 0;
}

}  // namespace niftysave::cli
