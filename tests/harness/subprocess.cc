#include "tests/harness/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace niftysave::harness {
namespace {

// Everything the child needs, prepared before fork: between fork and exec
// only async-signal-safe calls are allowed, since another thread may have
// held the malloc lock at the moment of the fork.
struct ChildPlan {
  std::vector<char*> argv;
  std::vector<char*> envp;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  pid_t parent = 0;
  int stdin_fd = -1;
  int log_fd = -1;
  int error_fd = -1;  // close-on-exec pipe: receives errno if exec fails
  int max_fd = 0;
};

[[noreturn]] void ReportAndExit(int error_fd) {
  int err = errno;
  (void)!write(error_fd, &err, sizeof(err));
  _exit(127);
}

[[noreturn]] void RunChild(const ChildPlan& plan) {
  setpgid(0, 0);  // own group, so Terminate can kill grandchildren too
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);

  if (plan.uid != static_cast<uid_t>(-1)) {
    if (setgroups(1, &plan.gid) != 0 || setgid(plan.gid) != 0 ||
        setuid(plan.uid) != 0) {
      ReportAndExit(plan.error_fd);
    }
  }
  // After setuid: a credential change clears the parent-death signal.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != plan.parent) _exit(127);  // parent died before prctl

  if (dup2(plan.stdin_fd, 0) < 0 || dup2(plan.log_fd, 1) < 0 ||
      dup2(plan.log_fd, 2) < 0) {
    ReportAndExit(plan.error_fd);
  }
  // Don't leak the test's sockets into servers (a leaked listening socket
  // would keep a port busy after the test closed it).
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < plan.max_fd; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  execvpe(plan.argv[0], plan.argv.data(), plan.envp.data());
  ReportAndExit(plan.error_fd);
}

std::vector<std::string> MergedEnvironment(const Subprocess::Env& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string key = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [k, v] : extra) overridden |= (k == key);
    if (!overridden) env.push_back(std::move(entry));
  }
  for (const auto& [k, v] : extra) env.push_back(absl::StrCat(k, "=", v));
  return env;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    std::vector<std::string> argv, Env extra_env, std::string log_path,
    std::string run_as_user) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  std::string description = absl::StrJoin(argv, " ");

  ChildPlan plan;
  for (std::string& arg : argv) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);
  std::vector<std::string> env = MergedEnvironment(extra_env);
  for (std::string& entry : env) plan.envp.push_back(entry.data());
  plan.envp.push_back(nullptr);
  if (!run_as_user.empty()) {
    struct passwd* pw = getpwnam(run_as_user.c_str());
    if (pw == nullptr) {
      return absl::NotFoundError(absl::StrCat("no such user: ", run_as_user));
    }
    plan.uid = pw->pw_uid;
    plan.gid = pw->pw_gid;
  }
  plan.parent = getpid();
  plan.max_fd = static_cast<int>(sysconf(_SC_OPEN_MAX));

  plan.log_fd =
      open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (plan.log_fd < 0) {
    int err = errno;
    return absl::ErrnoToStatus(err, absl::StrCat("cannot open log ", log_path));
  }
  plan.stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int error_pipe[2];
  if (plan.stdin_fd < 0 || pipe2(error_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    close(plan.log_fd);
    if (plan.stdin_fd >= 0) close(plan.stdin_fd);
    return absl::ErrnoToStatus(err, "cannot set up child fds");
  }
  plan.error_fd = error_pipe[1];

  pid_t pid = fork();
  if (pid == 0) RunChild(plan);
  int fork_errno = errno;
  close(error_pipe[1]);
  close(plan.log_fd);
  close(plan.stdin_fd);
  if (pid < 0) {
    close(error_pipe[0]);
    return absl::ErrnoToStatus(fork_errno, "fork");
  }

  // The pipe closes on a successful exec, or carries errno if it failed.
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(error_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close(error_pipe[0]);
  if (n == sizeof(child_errno)) {
    waitpid(pid, nullptr, 0);
    return absl::ErrnoToStatus(child_errno,
                               absl::StrCat("cannot start ", description));
  }
  return std::unique_ptr<Subprocess>(
      new Subprocess(pid, std::move(log_path), std::move(description)));
}

Subprocess::~Subprocess() {
  if (Poll().has_value()) return;
  kill(-pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

std::optional<int> Subprocess::Poll() {
  if (exit_code_.has_value()) return exit_code_;
  siginfo_t info = {};
  // WNOWAIT leaves a zombie, which keeps pid_ (and so the group id) from
  // being reused while we SIGKILL whatever the child left behind.
  if (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    exit_code_ = -1;  // already reaped elsewhere; the code is lost
    return exit_code_;
  }
  if (info.si_pid == 0) return std::nullopt;
  kill(-pid_, SIGKILL);
  waitid(P_PID, pid_, &info, WEXITED);
  exit_code_ =
      info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
  return exit_code_;
}

bool Subprocess::Running() { return !Poll().has_value(); }

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(1);
  while (true) {
    if (std::optional<int> code = Poll()) return *code;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(description_, " still running after ",
                       absl::FormatDuration(timeout)));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(50));
  }
}

absl::StatusOr<int> Subprocess::Terminate(absl::Duration grace, int signal) {
  if (std::optional<int> code = Poll()) return *code;
  kill(pid_, signal);
  absl::StatusOr<int> code = Wait(grace);
  if (code.ok()) return code;
  kill(-pid_, SIGKILL);
  return Wait(absl::Seconds(10));
}

absl::StatusOr<std::string> RunCommand(std::vector<std::string> argv,
                                       absl::Duration timeout,
                                       Subprocess::Env extra_env,
                                       std::string run_as_user) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string log_path =
      absl::StrCat(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp",
                   "/niftysave-cmd-XXXXXX");
  int fd = mkstemp(log_path.data());
  if (fd < 0) return absl::ErrnoToStatus(errno, "mkstemp");
  close(fd);

  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(
      std::move(argv), std::move(extra_env), log_path, std::move(run_as_user));
  if (!process.ok()) {
    unlink(log_path.c_str());
    return process.status();
  }
  absl::StatusOr<int> code = (*process)->Wait(timeout);
  if (!code.ok())
    (*process)->Terminate(absl::ZeroDuration(), SIGKILL).IgnoreError();
  std::string output = ReadFile(log_path);
  unlink(log_path.c_str());

  const std::string& what = (*process)->description();
  if (!code.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat(what, ": timed out after ", absl::FormatDuration(timeout),
                     "\n", output));
  }
  if (*code != 0) {
    return absl::InternalError(
        absl::StrCat(what, ": exit code ", *code, "\n", output));
  }
  return output;
}

std::string TailOfFile(const std::string& path, size_t max_bytes) {
  std::string content = ReadFile(path);
  if (content.size() <= max_bytes) return content;
  return absl::StrCat("...", content.substr(content.size() - max_bytes));
}

absl::Status WaitUntilReady(Subprocess& process, absl::string_view component,
                            absl::Duration timeout,
                            absl::FunctionRef<absl::Status()> probe) {
  const absl::Time deadline = absl::Now() + timeout;
  auto log_tail = [&] {
    return absl::StrCat("\n--- tail of ", process.log_path(), " ---\n",
                        TailOfFile(process.log_path()));
  };
  while (true) {
    if (!process.Running()) {
      absl::StatusOr<int> code = process.Wait(absl::ZeroDuration());
      return absl::UnavailableError(absl::StrCat(
          component, " exited with code ", code.value_or(-1),
          " before becoming ready (", process.description(), ")", log_tail()));
    }
    absl::Status last = probe();
    if (last.ok()) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          component, " not ready after ", absl::FormatDuration(timeout),
          "; last probe: ", last.ToString(), log_tail()));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace niftysave::harness
