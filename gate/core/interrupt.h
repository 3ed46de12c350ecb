#pragma once
// Ctrl-C / SIGTERM handling. The handler only sets a flag and makes a pipe
// readable; every blocking wait in gate polls that pipe so it can stop its
// children and unwind. The byte is never consumed: once interrupted, every
// poller in every thread sees it.

namespace gate::interrupt {

void install_handlers();
bool requested();
// A file descriptor that becomes readable once an interrupt was requested.
int wait_fd();
// Throws gate::Interrupted if an interrupt was requested.
void throw_if_requested();
// For tests and for "stop now" paths that are not signals.
void request();

}  // namespace gate::interrupt
