#pragma once

#include "absl/synchronization/notification.h"

namespace niftysave {

// Blocks SIGTERM and SIGINT in every thread and waits for them on a
// dedicated thread. Call first thing in main(), before any thread starts.
// The returned notification fires on the first signal; a second signal
// exits at once with status 1 (an operator who insists).
absl::Notification& InstallShutdownHandler();

}  // namespace niftysave
