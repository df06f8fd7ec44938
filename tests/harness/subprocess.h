#pragma once

// Child processes for the test harness: real servers (postgres, anvil,
// js-ipfs, node) started by tests and torn down with them.

#include <sys/types.h>

#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace niftysave::harness {

// A running child process in its own process group, with stdout and stderr
// appended to a log file. The child gets PR_SET_PDEATHSIG(SIGKILL), so it dies
// with the test even if the test crashes. Caveat: the kernel delivers that
// signal when the *thread* that called Start exits, so start long-lived
// servers from a thread that outlives them (normally the main thread).
// Not thread-safe.
class Subprocess {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;

  // Starts argv[0] (looked up in PATH) with the current environment plus
  // extra_env (which overrides). When run_as_user is set the child switches
  // to that user before exec (requires root); done in-process rather than
  // through `su`, which would fork and leave the server orphaned on a crash.
  // Returns NotFound/PermissionDenied etc. if exec fails.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      std::vector<std::string> argv, Env extra_env, std::string log_path,
      std::string run_as_user = "");

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // Kills the whole process group if it is still running.
  ~Subprocess();

  int pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // The command line, for error messages.
  const std::string& description() const { return description_; }

  bool Running();

  // Sends `signal` to the process, waits up to `grace`, then SIGKILLs the
  // group. Returns the exit code, or 128+signal if it was killed.
  absl::StatusOr<int> Terminate(absl::Duration grace = absl::Seconds(10),
                                int signal = SIGTERM);

  // Waits for exit; DeadlineExceeded if still running after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);

 private:
  Subprocess(pid_t pid, std::string log_path, std::string description)
      : pid_(pid),
        log_path_(std::move(log_path)),
        description_(std::move(description)) {}

  // Reaps the child if it has exited; returns its exit code then.
  std::optional<int> Poll();

  pid_t pid_;
  std::string log_path_;
  std::string description_;
  std::optional<int> exit_code_;
};

// Runs a command to completion and returns its combined stdout+stderr.
// A non-zero exit is an Internal error carrying the output; a command still
// running after `timeout` is killed and reported as DeadlineExceeded.
absl::StatusOr<std::string> RunCommand(std::vector<std::string> argv,
                                       absl::Duration timeout,
                                       Subprocess::Env extra_env = {},
                                       std::string run_as_user = "");

// The last `max_bytes` of a file (e.g. a server log), for error messages.
std::string TailOfFile(const std::string& path, size_t max_bytes = 2000);

// Polls `probe` until it returns OK. Fails early, with the tail of the log,
// if `process` exits first; on timeout the error names `component`, the last
// probe error and the log tail.
absl::Status WaitUntilReady(Subprocess& process, absl::string_view component,
                            absl::Duration timeout,
                            absl::FunctionRef<absl::Status()> probe);

}  // namespace niftysave::harness
