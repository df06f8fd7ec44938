// CID computation benchmark for bench/cid_bench.sh.
//
//   cid_bench [--profile P] [--chunk BYTES] [--links N] FILE
//       our importer (no block output); prints the root CID and the time
//   cid_bench --sha256_only FILE
//       the floor: the same reads, SHA-256 of each 1 MiB, nothing else
//   cid_bench --node_add FILE QUERY
//       starts a js-ipfs node (test harness) and times
//       `curl -F file=@FILE .../api/v0/add?only-hash=true&QUERY`
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/ipfs/unixfs_importer.h"
#ifdef NIFTYSAVE_BENCH_HAS_HARNESS
#include "absl/strings/str_cat.h"
#include "tests/harness/ipfs_node.h"
#include "tests/harness/subprocess.h"
#endif

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int Usage() {
  std::fprintf(stderr,
               "usage: cid_bench [--profile P] [--chunk N] [--links N] FILE\n"
               "       cid_bench --sha256_only FILE\n"
               "       cid_bench --node_add FILE QUERY\n");
  return 2;
}

int Sha256Only(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return 1;
  std::string buf(1 << 20, '\0');
  uint64_t total = 0;
  const Clock::time_point start = Clock::now();
  ssize_t n;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0) {
    niftysave::ipfs::Sha256(absl::string_view(buf.data(), n));
    total += n;
  }
  ::close(fd);
  const double s = SecondsSince(start);
  std::printf("bytes %llu\nseconds %.3f\nMBps %.1f\n",
              static_cast<unsigned long long>(total), s, total / s / 1e6);
  return 0;
}

int NodeAdd(const std::string& path, const std::string& query) {
#ifdef NIFTYSAVE_BENCH_HAS_HARNESS
  auto node = niftysave::harness::IpfsNode::Start();
  if (!node.ok()) {
    std::fprintf(stderr, "%s\n", node.status().ToString().c_str());
    return 1;
  }
  const Clock::time_point start = Clock::now();
  auto out = niftysave::harness::RunCommand(
      {"curl", "-sS", "-X", "POST", "-F", "file=@" + path,
       absl::StrCat((*node)->api_url(), "/api/v0/add?only-hash=true&", query)},
      absl::Minutes(30));
  const double s = SecondsSince(start);
  if (!out.ok()) {
    std::fprintf(stderr, "%s\n", out.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\nseconds %.3f\n", out->c_str(), s);
  return 0;
#else
  (void)path;
  (void)query;
  std::fprintf(stderr, "built without the test harness\n");
  return 1;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "--sha256_only")
    return Sha256Only(args[1]);
  if (args.size() == 3 && args[0] == "--node_add") {
    return NodeAdd(args[1], args[2]);
  }
  niftysave::ipfs::ImportProfile profile = niftysave::ipfs::IpfsCarProfile();
  std::string path;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--profile" && i + 1 < args.size()) {
      auto p = niftysave::ipfs::ProfileByName(args[++i]);
      if (!p.ok()) return Usage();
      profile = *p;
    } else if (args[i] == "--chunk" && i + 1 < args.size()) {
      profile.chunk_size = std::strtoull(args[++i].c_str(), nullptr, 10);
    } else if (args[i] == "--links" && i + 1 < args.size()) {
      profile.max_links = std::strtoull(args[++i].c_str(), nullptr, 10);
    } else if (path.empty()) {
      path = args[i];
    } else {
      return Usage();
    }
  }
  if (path.empty()) return Usage();
  const Clock::time_point start = Clock::now();
  auto root = niftysave::ipfs::ImportFile(path, profile, nullptr);
  const double s = SecondsSince(start);
  if (!root.ok()) {
    std::fprintf(stderr, "%s\n", root.status().ToString().c_str());
    return 1;
  }
  std::printf("cid %s\nseconds %.3f\n", niftysave::ipfs::CidText(*root).c_str(),
              s);
  return 0;
}
