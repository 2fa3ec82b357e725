#include "stop_signals.hpp"

#include <csignal>
#include <initializer_list>

namespace ecco::app {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void (*g_cleanup)() = nullptr;

extern "C" void on_stop_signal(int signal_number) {
  if (g_stop == 0) {
    g_stop = signal_number;
    return;
  }
  if (signal_number == SIGUSR1) return;  // a repeated "stop soon" changes nothing
  if (g_cleanup != nullptr) g_cleanup();
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

}  // namespace

void install_stop_signals(void (*cleanup)()) {
  g_cleanup = cleanup;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // MPI's and the file system's calls go on
  for (const int s : {SIGINT, SIGTERM, SIGUSR1}) sigaction(s, &action, nullptr);
}

const volatile std::sig_atomic_t* stop_signal() { return &g_stop; }

}  // namespace ecco::app
