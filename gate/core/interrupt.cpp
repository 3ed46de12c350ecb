#include "core/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "core/error.h"

namespace gate::interrupt {
namespace {

std::atomic<bool> g_requested{false};
int g_pipe[2] = {-1, -1};

void ensure_pipe() {
  if (g_pipe[0] >= 0) return;
  if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) std::abort();
}

void on_signal(int) {
  if (!g_requested.exchange(true)) {
    char byte = 1;
    [[maybe_unused]] auto n = ::write(g_pipe[1], &byte, 1);
  }
}

}  // namespace

void install_handlers() {
  ensure_pipe();
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // A closed socket must be an error return, not a dead process (libcurl).
  signal(SIGPIPE, SIG_IGN);
}

bool requested() { return g_requested.load(); }

int wait_fd() {
  ensure_pipe();
  return g_pipe[0];
}

void throw_if_requested() {
  if (requested()) throw Interrupted();
}

void request() {
  ensure_pipe();
  on_signal(0);
}

}  // namespace gate::interrupt
