#pragma once
// SIGINT, SIGTERM and SIGUSR1 ask a run to stop at the end of its round (RunOptions::
// stop_signal): the ranks agree there, write a checkpoint when --checkpoint-dir is set,
// publish the outputs and exit with 128 + the signal number. mpirun forwards all three to
// every rank; batch schedulers send SIGUSR1 (or SIGTERM) before a time limit. A second
// SIGINT or SIGTERM ends the process at once, after removing unfinished output files.
#include <csignal>

namespace ecco::app {

// Installs the handlers; `cleanup` (async-signal-safe, may be null) runs before a forced exit.
void install_stop_signals(void (*cleanup)());

// The first stop signal received, 0 before any.
const volatile std::sig_atomic_t* stop_signal();

}  // namespace ecco::app
