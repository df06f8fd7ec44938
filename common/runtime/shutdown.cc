#include "common/runtime/shutdown.h"

#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <thread>

#include "common/runtime/log.h"

namespace niftysave {

absl::Notification& InstallShutdownHandler() {
  static auto* notification = new absl::Notification();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int signal = 0;
    sigwait(&set, &signal);
    log::Info("shutdown requested, draining",
              {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    notification->Notify();
    sigwait(&set, &signal);
    log::Warn("second signal, exiting now");
    std::_Exit(1);
  }).detach();
  return *notification;
}

}  // namespace niftysave
