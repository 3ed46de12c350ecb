#pragma once
// Running child processes. Boost.Process lives only in runner.cpp.
//
// Every child gets its own process group, stdin from /dev/null and one pipe
// for stdout+stderr that is always drained (so a chatty child never blocks).
// On timeout or interrupt the whole group gets SIGTERM, a grace period, then
// SIGKILL; the child is always reaped, and any process it left behind in its
// group is killed when it exits.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gate::process {

using Environment = std::map<std::string, std::string>;

// The environment gate itself runs with.
Environment current_environment();

struct Spec {
  std::vector<std::string> argv;         // argv[0] is looked up in PATH when it has no '/'
  std::filesystem::path cwd;             // empty = gate's own working directory
  std::optional<Environment> env;        // nullopt = inherit
  std::chrono::milliseconds timeout{0};  // 0 = none
  std::chrono::milliseconds grace{std::chrono::seconds(5)};
  // Called for each complete line of output (without the newline).
  std::function<void(std::string_view)> on_line;
  // When set, all output is appended to this file as well.
  std::filesystem::path log_file;
  // Keep at most this many bytes of the output's end in Result::output.
  size_t keep_tail = 64 * 1024;
  // Written to the child's stdin (then closed); empty = stdin from /dev/null.
  // At most 64 KiB (one pipe buffer): meant for credential helpers and the like.
  std::string input;
  // Polled about every 100 ms while the child runs; returning true stops the
  // child's group as a timeout does (Result::stopped). For watchdogs that
  // know more than a total timeout, such as a per-test deadline.
  std::function<bool()> should_stop;
  // Called once the child runs, with its pid (= its process group).
  std::function<void(int)> on_start;
  // Cleanup commands must run even while gate is being interrupted.
  bool ignore_interrupt = false;
};

struct Result {
  int exit_code = -1;  // valid when signal == 0
  int signal = 0;      // the signal that ended the child, if any
  bool timed_out = false;
  bool interrupted = false;  // gate was interrupted and stopped the child
  bool stopped = false;      // Spec::should_stop asked for it
  std::chrono::milliseconds elapsed{0};
  std::string output;  // tail of stdout+stderr
  bool output_truncated = false;

  bool ok() const { return signal == 0 && exit_code == 0 && !timed_out && !interrupted && !stopped; }
  std::string describe() const;  // "exit 2", "killed by signal 9", "timed out after 3.0s"
  // The last `bytes` of the output, for error messages.
  std::string output_end(size_t bytes) const {
    return output.size() > bytes ? output.substr(output.size() - bytes) : output;
  }
};

// The program spec.argv[0] names (looked up in the spec's PATH as run()
// would). Throws InfraError when there is none.
std::filesystem::path resolve_program(const Spec& spec);

// Runs the child to completion. Throws InfraError when it cannot be started
// (e.g. the program does not exist). Never throws Interrupted: the caller
// sees Result::interrupted and decides.
Result run(const Spec& spec);

// Convenience for short helper commands: runs and returns the output.
Result capture(std::vector<std::string> argv, std::chrono::milliseconds timeout = std::chrono::seconds(60),
               bool ignore_interrupt = false);

}  // namespace gate::process
