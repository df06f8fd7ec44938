// `niftysave stats`: the funnel and failures by reason, from the tracker's
// GetStats (an operator's look; dashboards read the metrics instead).
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "common/grpc/grpc_server.h"
#include "google/protobuf/util/json_util.h"
#include "niftysave/v1/tracker.grpc.pb.h"

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

}  // namespace

int Stats(const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::fprintf(
        stderr, "usage: niftysave stats [--tracker_addr=HOST:PORT] [--json]\n");
    return 2;
  }
  auto stub = v1::Tracker::NewStub(MakeChannel(TrackerAddr()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  v1::Stats stats;
  grpc::Status status = stub->GetStats(&context, v1::GetStatsRequest(), &stats);
  if (!status.ok()) {
    std::fprintf(stderr, "niftysave stats: %s\n",
                 status.error_message().c_str());
    return 1;
  }
  if (JsonOutput()) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(stats, &json, options);
    std::printf("%s", json.c_str());
    return 0;
  }
  const uint64_t all = stats.indexed();
  std::printf("%-30s %10s %8s\n", "FUNNEL", "TOKENS", "SHARE");
  Row("indexed", all, all);
  Row("metadata fetched", stats.metadata_fetched(), all);
  Row("archived", stats.archived(), all);
  Row("partial", stats.partial(), all);
  Row("failed", stats.failed(), all);
  if (stats.failures_size() > 0) {
    std::printf("\n%-30s %10s %8s\n", "FAILED BY REASON", "TOKENS", "SHARE");
    for (const v1::ReasonCount& f : stats.failures())
      Row(f.reason().empty() ? "(none)" : f.reason(), f.count(),
          stats.failed());
  }
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
