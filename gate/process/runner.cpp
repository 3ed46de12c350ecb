// The only translation unit that includes Boost.Process (it is slow to compile).
#include "process/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
// Children start with vfork: fork copies gate's page tables and the child
// then faults on every page it touches before exec (~3.5 ms a start here,
// against ~0.3 ms). Boost.Process has the vfork path but enables it only by
// an old X/Open test that glibc no longer meets; glibc has vfork.
#define BOOST_POSIX_HAS_VFORK 1
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "core/duration.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/private_env.h"

extern char** environ;

namespace gate::process {
namespace bp = boost::process;

namespace {

using Clock = std::chrono::steady_clock;

// Runs in the child between vfork and exec: a process group of its own (so
// the whole tree can be killed at once), default signal dispositions (gate
// ignores SIGPIPE and catches SIGINT/SIGTERM; children must not inherit
// that), and stdout+stderr onto our pipe. Only system calls here: the child
// shares gate's memory until exec. It starts with every signal blocked (see
// run), so gate's handlers never run in it; the mask is cleared last.
struct ChildSetup : bp::extend::handler {
  int output_fd;
  int input_fd;  // -1: stdin stays /dev/null
  ChildSetup(int output, int input) : output_fd(output), input_fd(input) {}

  template <typename Executor>
  void on_exec_setup(Executor&) const {
    ::setpgid(0, 0);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    if (input_fd >= 0) ::dup2(input_fd, STDIN_FILENO);
    ::dup2(output_fd, STDOUT_FILENO);
    ::dup2(output_fd, STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
  }
};

class FdGuard {
 public:
  explicit FdGuard(int fd = -1) : fd_(fd) {}
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// Splits the child's output into lines for the callback, writes the log and
// keeps a bounded tail.
class OutputSink {
 public:
  explicit OutputSink(const Spec& spec) : spec_(spec) {
    if (!spec.log_file.empty()) {
      std::filesystem::create_directories(spec.log_file.parent_path());
      log_.open(spec.log_file, std::ios::binary | std::ios::app);
    }
  }

  void add(const char* data, size_t size) {
    if (log_) write_log(std::string_view(data, size), false);
    tail_.append(data, size);
    if (tail_.size() > 2 * spec_.keep_tail) {
      tail_.erase(0, tail_.size() - spec_.keep_tail);
      truncated_ = true;
    }
    if (!spec_.on_line) return;
    pending_.append(data, size);
    size_t start = 0;
    for (size_t nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n', start)) {
      spec_.on_line(std::string_view(pending_).substr(start, nl - start));
      start = nl + 1;
    }
    pending_.erase(0, start);
    if (pending_.size() > 64 * 1024) {  // a huge line without newline: flush it in pieces
      spec_.on_line(pending_);
      pending_.clear();
    }
  }

  void finish(Result& result) {
    if (spec_.on_line && !pending_.empty()) spec_.on_line(pending_);
    pending_.clear();
    if (log_) {
      write_log({}, true);
      log_.flush();
    }
    if (tail_.size() > spec_.keep_tail) {
      tail_.erase(0, tail_.size() - spec_.keep_tail);
      truncated_ = true;
    }
    result.output = std::move(tail_);
    result.output_truncated = truncated_;
  }

 private:
  // The log is an artifact users upload: it gets the redaction of gate's own
  // output, a line at a time (a secret is never cut by a pipe read), and a
  // long line without newline in pieces that keep back enough for one secret.
  void write_log(std::string_view data, bool at_end) {
    log_pending_.append(data);
    size_t upto = at_end ? log_pending_.size() : log_pending_.rfind('\n');
    if (upto == std::string::npos) {
      if (log_pending_.size() < 64 * 1024) return;
      log_pending_ = log::redact(log_pending_);
      upto = log_pending_.size() - std::min(log_pending_.size(), log::longest_secret());
    } else if (!at_end) {
      ++upto;
    }
    std::string text = log::redact(std::string_view(log_pending_).substr(0, upto));
    log_.write(text.data(), static_cast<std::streamsize>(text.size()));
    log_pending_.erase(0, upto);
  }

  const Spec& spec_;
  std::ofstream log_;
  std::string log_pending_;
  std::string tail_;
  std::string pending_;
  bool truncated_ = false;
};

bool group_alive(pid_t pgid) { return ::kill(-pgid, 0) == 0 || errno == EPERM; }

}  // namespace

Environment current_environment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::string Result::describe() const {
  if (interrupted) return "interrupted";
  if (timed_out) return fmt::format("timed out after {}", format_duration(elapsed));
  if (stopped) return fmt::format("stopped by gate after {}", format_duration(elapsed));
  if (signal != 0) return fmt::format("killed by signal {} ({})", signal, ::strsignal(signal));
  return fmt::format("exit {}", exit_code);
}

namespace {

// argv[0] as given when it names a path, else found in the PATH the child
// will have (its own environment's when the spec sets one).
boost::filesystem::path find_executable(const Spec& spec) {
  if (spec.argv[0].find('/') != std::string::npos) return spec.argv[0];
  boost::filesystem::path found;
  if (spec.env && spec.env->count("PATH")) {
    std::vector<boost::filesystem::path> dirs;
    std::string path = spec.env->at("PATH");
    for (size_t start = 0;;) {
      auto colon = path.find(':', start);
      dirs.emplace_back(path.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    found = bp::search_path(spec.argv[0], dirs);
  } else {
    found = bp::search_path(spec.argv[0]);
  }
  if (found.empty()) throw InfraError(fmt::format("cannot run '{}': not found in PATH", spec.argv[0]));
  return found;
}

}  // namespace

std::filesystem::path resolve_program(const Spec& spec) { return find_executable(spec).string(); }

namespace {

// An inherited environment leaves out gate's private variables (the
// registry password, tokens): no helper needs them, and any process of the
// user could read them in the helper's /proc/PID/environ.
bp::environment child_environment(const Spec& spec) {
  bp::environment env;
  for (const auto& [key, value] : spec.env ? *spec.env : current_environment()) {
    if (spec.env || !core::is_private(key)) env[key] = value;
  }
  return env;
}

// Watches one child's process group until it has exited and its output is
// read to the end: the deadline, should_stop and interrupts start a
// termination (SIGTERM to the group, SIGKILL after the grace), and what the
// main process leaves in its group is stopped when it exits.
class Supervision {
 public:
  Supervision(const Spec& spec, bp::child& child, pid_t pgid, int output_fd, Clock::time_point started)
      : spec_(spec),
        child_(child),
        pgid_(pgid),
        output_fd_(output_fd),
        exit_fd_(static_cast<int>(::syscall(SYS_pidfd_open, child.id(), 0))),
        deadline_(spec.timeout.count() > 0 ? started + spec.timeout : Clock::time_point::max()) {}
  ~Supervision() {
    if (exit_fd_ >= 0) ::close(exit_fd_);
  }
  Supervision(const Supervision&) = delete;
  Supervision& operator=(const Supervision&) = delete;

  void run(OutputSink& sink, Result& result) {
    char buffer[64 * 1024];
    while (!child_done_ || !output_done_) {
      auto now = Clock::now();
      decide_termination(now, result);
      // Watched: the output (unless in a quiet spell), the child's exit (in
      // one), and interrupts.
      const bool quiet = now < quiet_until_ && !child_done_ && !terminating_;
      pollfd watched[3];
      nfds_t count = 0;
      const int output_slot = !output_done_ && !quiet ? static_cast<int>(count) : -1;
      if (output_slot >= 0) watched[count++] = {output_fd_, POLLIN, 0};
      if (quiet) watched[count++] = {exit_fd_, POLLIN, 0};
      if (!spec_.ignore_interrupt && !terminating_) watched[count++] = {interrupt::wait_fd(), POLLIN, 0};
      int wait_ms = poll_wait_ms(now);
      if (quiet) wait_ms = std::min(wait_ms, until_ms(now, quiet_until_));
      int ready = count > 0 ? ::poll(watched, count, wait_ms)
                            : (std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms)), 0);
      if (ready < 0 && errno != EINTR) throw InfraError(fmt::format("poll: {}", std::strerror(errno)));
      if (output_slot >= 0 && ready > 0 && (watched[output_slot].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = ::read(output_fd_, buffer, sizeof buffer);
        if (n > 0) {
          sink.add(buffer, static_cast<size_t>(n));
          // A trickle (a few bytes, not the end of a full buffer's burst):
          // the next read waits a quiet spell, so that a child writing a
          // byte at a time (pytest -q's dots under PYTHONUNBUFFERED) does
          // not wake gate for each one. A loud child is read on at once:
          // after a full buffer, and after a read of more than a trickle
          // (a spell after each burst of a child that writes megabytes at a
          // time would hold it to a pipe's worth per spell).
          const auto got = static_cast<size_t>(n);
          if (got <= kTrickle && !last_read_full_ && exit_fd_ >= 0) quiet_until_ = Clock::now() + kQuietSpell;
          last_read_full_ = got == sizeof buffer;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          output_done_ = true;
        }
      }
      if (!child_done_) look_at_child();
      if (child_done_ && !output_done_ && terminating_ && Clock::now() >= kill_at_ + std::chrono::seconds(5)) {
        // Something outside the group still holds the pipe: give up on it.
        output_done_ = true;
      }
    }
  }

 private:
  void decide_termination(Clock::time_point now, Result& result) {
    if (!terminating_ && now >= deadline_) {
      result.timed_out = true;
      start_termination();
    }
    if (!terminating_ && spec_.should_stop && spec_.should_stop()) {
      result.stopped = true;
      start_termination();
    }
    if (!terminating_ && !spec_.ignore_interrupt && interrupt::requested()) {
      result.interrupted = true;
      start_termination();
    }
    if (terminating_ && now >= kill_at_) ::kill(-pgid_, SIGKILL);
  }

  void start_termination() {
    if (terminating_) return;
    terminating_ = true;
    ::kill(-pgid_, SIGTERM);
    kill_at_ = Clock::now() + spec_.grace;
  }

  static int until_ms(Clock::time_point now, Clock::time_point then) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(then - now).count();
    return static_cast<int>(std::clamp<long long>(left + 1, 0, 100));
  }

  int poll_wait_ms(Clock::time_point now) {
    if (output_done_ && !child_done_) {
      // The child closed its output and is about to exit: look again soon
      // (a child that closed its output early and goes on is looked at less often).
      if (output_done_at_ == Clock::time_point{}) output_done_at_ = now;
      return now - output_done_at_ < std::chrono::milliseconds(200) ? 1 : 20;
    }
    if (!terminating_ && deadline_ != Clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now).count();
      return static_cast<int>(std::clamp<long long>(left, 0, 100));
    }
    return 100;
  }

  void look_at_child() {
    std::error_code ec;
    if (child_.running(ec)) return;
    child_done_ = true;
    // The main process is gone; anything it left in its group would keep
    // the pipe open and outlive the gate. Stop them.
    if (group_alive(pgid_)) {
      ::kill(-pgid_, SIGTERM);
      if (!terminating_) {
        terminating_ = true;
        kill_at_ = Clock::now() + std::min(spec_.grace, std::chrono::milliseconds(2000));
      }
    }
  }

  const Spec& spec_;
  bp::child& child_;
  const pid_t pgid_;
  const int output_fd_;
  // The child's pidfd: readable once it has exited, so a quiet spell still
  // sees the end at once. -1 where the kernel has none (then no quiet spells).
  const int exit_fd_;
  const Clock::time_point deadline_;
  // How long output is left to gather after a short read: a wakeup of gate
  // per spell instead of per write; the output, the per-test timeouts and
  // should_stop are seen at most this late.
  static constexpr std::chrono::milliseconds kQuietSpell{20};
  static constexpr size_t kTrickle = 4096;  // at most this much in a read: a trickle
  Clock::time_point quiet_until_{};
  bool last_read_full_ = false;
  bool child_done_ = false;
  bool output_done_ = false;
  bool terminating_ = false;
  Clock::time_point kill_at_{};
  Clock::time_point output_done_at_{};
};

}  // namespace

Result run(const Spec& spec) {
  if (spec.argv.empty()) throw InfraError("internal: empty command");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw InfraError(fmt::format("pipe: {}", std::strerror(errno)));
  FdGuard read_end(fds[0]);
  FdGuard write_end(fds[1]);
  // Room for what a loud child writes during a quiet spell (Supervision);
  // best effort: the system's limit may be lower.
  ::fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
  FdGuard input_read, input_write;
  if (!spec.input.empty()) {
    if (spec.input.size() > 64 * 1024) throw InfraError("internal: child input larger than a pipe buffer");
    int in_fds[2];
    if (::pipe2(in_fds, O_CLOEXEC) != 0) throw InfraError(fmt::format("pipe: {}", std::strerror(errno)));
    input_read.reset(in_fds[0]);
    input_write.reset(in_fds[1]);
  }

  boost::filesystem::path exe = find_executable(spec);
  std::vector<std::string> args(spec.argv.begin() + 1, spec.argv.end());

  bp::environment env = child_environment(spec);
  boost::filesystem::path cwd =
      spec.cwd.empty() ? boost::filesystem::current_path() : boost::filesystem::path(spec.cwd.string());

  OutputSink sink(spec);
  Result result;
  auto started = Clock::now();
  std::error_code launch_error;
  bp::child child;
  {
    // Blocked in this thread across the vfork, so the child inherits them
    // blocked until ChildSetup has reset the dispositions.
    sigset_t all;
    sigset_t before;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &before);
    try {
      child = bp::child(exe, bp::args(args), env, bp::start_dir(cwd), bp::std_in < bp::null,
                        ChildSetup(write_end.get(), input_read.get()), bp::posix::use_vfork);
    } catch (const bp::process_error& e) {
      ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
      throw InfraError(fmt::format("cannot run '{}': {}", spec.argv[0], e.what()));
    }
    ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  }
  write_end.reset();  // only the child (and its descendants) hold the write end now
  if (input_write.get() >= 0) {
    input_read.reset();
    // Fits in the pipe buffer: never blocks, even if the child does not read.
    [[maybe_unused]] auto written = ::write(input_write.get(), spec.input.data(), spec.input.size());
    input_write.reset();
  }
  const pid_t pgid = child.id();
  ::setpgid(pgid, pgid);  // also from the parent, so the group exists before we might kill it
  if (spec.on_start) spec.on_start(pgid);

  Supervision(spec, child, pgid, read_end.get(), started).run(sink, result);
  if (group_alive(pgid)) ::kill(-pgid, SIGKILL);

  int status = child.native_exit_code();
  if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  sink.finish(result);
  return result;
}

Result capture(std::vector<std::string> argv, std::chrono::milliseconds timeout, bool ignore_interrupt) {
  Spec spec;
  spec.argv = std::move(argv);
  spec.timeout = timeout;
  spec.ignore_interrupt = ignore_interrupt;
  spec.grace = std::chrono::seconds(2);
  return run(spec);
}

}  // namespace gate::process
