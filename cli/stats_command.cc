// `niftysave stats`: the funnel and failures by reason, from the tracker's
// GetStats (an operator's look; dashboards read the metrics instead); with
// --contract, one contract's progress from GetContractStatus.
#include <cstdio>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "cli/commands.h"
#include "common/grpc/grpc_security_flags.h"
#include "common/grpc/grpc_server.h"
#include "common/runtime/flags.h"
#include "google/protobuf/util/json_util.h"
#include "niftysave/v1/tracker.grpc.pb.h"

ABSL_DECLARE_FLAG(uint64_t, chain_id);
ABSL_DECLARE_FLAG(std::string, contract);

namespace niftysave::cli {
namespace {

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%.1f%%", 100.0 * part / whole);
  return buf;
}

void Row(const std::string& label, uint64_t count, uint64_t of) {
  std::printf("  %-28s %10llu %8s\n", label.c_str(),
              static_cast<unsigned long long>(count),
              Percent(count, of).c_str());
}

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::printf("%s", json.c_str());
}

void Reasons(const char* title,
             const google::protobuf::RepeatedPtrField<v1::ReasonCount>& counts,
             uint64_t of) {
  if (counts.empty()) return;
  std::printf("\n%-30s %10s %8s\n", title, "TOKENS", "SHARE");
  for (const v1::ReasonCount& f : counts)
    Row(f.reason().empty() ? "(none)" : f.reason(), f.count(), of);
}

int ContractStats(v1::Tracker::Stub& stub, uint64_t chain_id,
                  const std::string& contract) {
  v1::GetContractStatusRequest request;
  request.set_chain_id(chain_id);
  request.set_contract(contract);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  v1::ContractStatus c;
  grpc::Status status = stub.GetContractStatus(&context, request, &c);
  if (!status.ok()) {
    std::fprintf(stderr, "niftysave stats: %s\n",
                 status.error_message().c_str());
    return 1;
  }
  if (JsonOutput()) {
    PrintJson(c);
    return 0;
  }
  std::printf("contract %s on chain %llu (%s", c.contract().c_str(),
              static_cast<unsigned long long>(c.chain_id()),
              c.standard().c_str());
  if (!c.name().empty()) std::printf(", %s", c.name().c_str());
  if (!c.symbol().empty()) std::printf(", %s", c.symbol().c_str());
  std::printf(")\n\n%-30s %10s %8s\n", "STATUS", "TOKENS", "SHARE");
  const uint64_t all = c.indexed();
  Row("indexed", all, all);
  Row("in progress", c.in_progress(), all);
  Row("  queued", c.queued(), all);
  Row("  extracted", c.extracted(), all);
  Row("archived", c.archived(), all);
  Row("partial", c.partial(), all);
  Row("failed", c.failed(), all);
  Reasons("FAILED BY REASON", c.failures(), c.failed());
  Reasons("PARTIAL BY REASON", c.partial_failures(), c.partial());
  std::printf("\nas of %s\n", c.computed_at().c_str());
  return 0;
}

}  // namespace

int Stats(const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::fprintf(stderr,
                 "usage: niftysave stats [--tracker_addr=HOST:PORT] [--json] "
                 "[--chain_id=N [--contract=0x...]]\n");
    return 2;
  }
  const uint64_t chain_id = absl::GetFlag(FLAGS_chain_id);
  const std::string contract = absl::GetFlag(FLAGS_contract);
  if (!contract.empty() && chain_id == 0)
    DieWithConfigError("chain_id", "required with --contract");
  auto stub = v1::Tracker::NewStub(
      MakeChannel(TrackerAddr(), GrpcClientSecurityFromFlags()));
  if (!contract.empty()) return ContractStats(*stub, chain_id, contract);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  v1::GetStatsRequest request;
  request.set_chain_id(chain_id);
  v1::Stats stats;
  grpc::Status status = stub->GetStats(&context, request, &stats);
  if (!status.ok()) {
    std::fprintf(stderr, "niftysave stats: %s\n",
                 status.error_message().c_str());
    return 1;
  }
  if (JsonOutput()) {
    PrintJson(stats);
    return 0;
  }
  const uint64_t all = stats.indexed();
  std::printf("%-30s %10s %8s\n", "FUNNEL", "TOKENS", "SHARE");
  Row("indexed", all, all);
  Row("metadata fetched", stats.metadata_fetched(), all);
  Row("archived", stats.archived(), all);
  Row("partial", stats.partial(), all);
  Row("failed", stats.failed(), all);
  Reasons("FAILED BY REASON", stats.failures(), stats.failed());
  std::printf("\n%-30s %10s\n", "RESOURCES", "COUNT");
  for (const v1::StatusCount& c : stats.resources())
    std::printf("  %-28s %10llu\n", c.status().c_str(),
                static_cast<unsigned long long>(c.count()));
  std::printf("\n%-30s %10s\n", "PINS", "COUNT");
  for (const v1::StatusCount& c : stats.pins())
    std::printf("  %-28s %10llu\n", c.status().c_str(),
                static_cast<unsigned long long>(c.count()));
  std::printf("\nas of %s\n", stats.computed_at().c_str());
  return 0;
}

}  // namespace niftysave::cli
