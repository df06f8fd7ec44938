#include "tests/harness/postgres_server.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/harness/net.h"

namespace niftysave::harness {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(30);

absl::StatusOr<std::string> FindBinDir() {
  std::string best;
  double best_version = -1;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    double version;
    if (!absl::SimpleAtod(entry.path().filename().string(), &version)) continue;
    std::string bin = (entry.path() / "bin").string();
    if (version > best_version &&
        std::filesystem::exists(bin + "/postgres", ec)) {
      best = bin;
      best_version = version;
    }
  }
  if (best.empty()) {
    return absl::NotFoundError(
        "PostgresServer: no /usr/lib/postgresql/*/bin/postgres installed");
  }
  return best;
}

absl::Status Annotate(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(), absl::StrCat("PostgresServer: ", what,
                                                  ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(
    std::string base_dir, std::vector<std::string> settings) {
  absl::StatusOr<std::string> bin_dir = FindBinDir();
  if (!bin_dir.ok()) return bin_dir.status();
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-pg", base_dir);
  if (!dir.ok()) return Annotate(dir.status(), "temp dir");
  // postgres refuses to run as root.
  const std::string user = geteuid() == 0 ? "postgres" : "";
  if (!user.empty()) {
    if (absl::Status s = dir->chown_to(user); !s.ok())
      return Annotate(s, "chown");
  }

  const std::string data_dir = dir->path() + "/data";
  // --no-sync: the cluster is thrown away, so skip fsyncing it.
  absl::StatusOr<std::string> initdb = RunCommand(
      {*bin_dir + "/initdb", "-D", data_dir, "-U", "postgres", "--auth=trust",
       "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"},
      absl::Seconds(120), {}, user);
  if (!initdb.ok()) return Annotate(initdb.status(), "initdb");

  const int port = PickFreePort();
  std::unique_ptr<PostgresServer> server(
      new PostgresServer(*std::move(dir), *bin_dir, port));
  server->user_ = user;
  server->settings_ = std::move(settings);
  if (absl::Status s = server->Launch(); !s.ok()) return s;
  if (absl::Status s = server->CreateDatabase("niftysave"); !s.ok()) return s;
  return server;
}

absl::Status PostgresServer::Launch() {
  // The postmaster runs in the foreground as our child (not daemonized by
  // pg_ctl) so that it dies with the test process if the test crashes.
  std::vector<std::string> argv = {
      bin_dir_ + "/postgres",       "-D", dir_.path() + "/data", "-p",
      absl::StrCat(port_),          "-k", dir_.path(),           "-c",
      "listen_addresses=127.0.0.1", "-c", "fsync=off",           "-c",
      "max_connections=200"};
  for (const std::string& setting : settings_) {
    argv.push_back("-c");
    argv.push_back(setting);
  }
  absl::StatusOr<std::unique_ptr<Subprocess>> postgres =
      Subprocess::Start(argv, {}, dir_.path() + "/postgres.log", user_);
  if (!postgres.ok()) return Annotate(postgres.status(), "start");
  postgres_ = *std::move(postgres);
  return WaitUntilReady(*postgres_, "PostgresServer", kStartTimeout, [&] {
    return RunCommand({bin_dir_ + "/pg_isready", "-q", "-h", "127.0.0.1", "-p",
                       absl::StrCat(port_), "-U", "postgres", "-d", "postgres",
                       "-t", "1"},
                      absl::Seconds(5))
        .status();
  });
}

absl::Status PostgresServer::RestartImmediately() {
  if (postgres_ != nullptr) {
    // SIGQUIT is what `pg_ctl -m immediate stop` sends: no shutdown
    // checkpoint, so the next start replays the WAL like after a crash.
    absl::StatusOr<int> code = postgres_->Terminate(absl::Seconds(30), SIGQUIT);
    postgres_.reset();
    if (!code.ok()) return Annotate(code.status(), "immediate stop");
  }
  return Launch();
}

PostgresServer::~PostgresServer() { Stop().IgnoreError(); }

std::string PostgresServer::ConnectionString(const std::string& db) const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/", db);
}

absl::Status PostgresServer::CreateDatabase(const std::string& name) {
  absl::StatusOr<std::string> out =
      RunCommand({bin_dir_ + "/createdb", "-h", "127.0.0.1", "-p",
                  absl::StrCat(port_), "-U", "postgres", name},
                 absl::Seconds(30));
  if (!out.ok()) return Annotate(out.status(), absl::StrCat("createdb ", name));
  return absl::OkStatus();
}

absl::Status PostgresServer::Stop() {
  if (postgres_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = postgres_->Terminate(absl::Seconds(30), SIGINT);
  std::string log_path = postgres_->log_path();
  postgres_.reset();
  if (!code.ok()) return Annotate(code.status(), "stop");
  if (*code != 0) {
    return absl::InternalError(absl::StrCat("PostgresServer: exited with code ",
                                            *code, " on stop\n",
                                            TailOfFile(log_path)));
  }
  return absl::OkStatus();
}

}  // namespace niftysave::harness
