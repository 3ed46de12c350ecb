#include "suite/runner.h"

#include <algorithm>

#include <fmt/format.h>

namespace gate::suite {

std::unique_ptr<Runner> make_pytest_runner(std::vector<std::string> selection);
std::unique_ptr<Runner> make_ctest_runner(std::vector<std::string> selection);
std::unique_ptr<Runner> make_go_runner(std::vector<std::string> selection, bool prebuild);
std::unique_ptr<Runner> make_command_runner(std::string junit);

std::unique_ptr<Runner> make_runner(const config::Consumer& consumer) {
  switch (consumer.runner) {
    case config::RunnerKind::pytest: return make_pytest_runner(consumer.tests);
    case config::RunnerKind::ctest: return make_ctest_runner(consumer.tests);
    case config::RunnerKind::go: return make_go_runner(consumer.tests, consumer.prebuild);
    case config::RunnerKind::command: break;
  }
  if (consumer.junit) return make_command_runner(*consumer.junit);
  return nullptr;  // "command" without JUnit: the whole run is one unit (suite/consumer_run.cpp)
}

process::Spec tool_spec(const RunEnv& env, const std::vector<std::string>& args) {
  process::Spec spec;
  spec.argv = env.command;
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.cwd = env.worktree;
  spec.env = env.env;
  spec.log_file = env.log_file;
  if (env.on_started) spec.on_start = [started = env.on_started](int /*pgid*/) { started(); };
  return spec;
}

void ProgressWatch::arm(process::Spec& spec, std::chrono::milliseconds test_timeout) {
  if (test_timeout.count() <= 0) return;
  last_ = std::chrono::steady_clock::now();
  spec.should_stop = [this, test_timeout] { return expired(test_timeout); };
}

std::string anchored_alternation(const std::vector<std::string>& names) {
  return anchored_alternation(TestNames(names.begin(), names.end()));
}

std::string anchored_alternation(const TestNames& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += '|';
    for (char c : name) {
      if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
  }
  return "^(" + out + ")$";
}

std::chrono::milliseconds time_left(const RunEnv& env) {
  if (env.deadline == std::chrono::steady_clock::time_point::max()) return std::chrono::milliseconds(0);
  return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    env.deadline - std::chrono::steady_clock::now()));
}

report::TestCase timed_out_test(const std::string& /*runner*/, const std::string& id,
                                std::chrono::milliseconds test_timeout) {
  report::TestCase hung{"", id, report::TestStatus::error, 0, "", ""};
  hung.timed_out = true;
  hung.seconds = std::chrono::duration<double>(test_timeout).count();
  hung.message = fmt::format("timed out: still running after {}s (test_timeout); stopped with its process group",
                             std::chrono::duration_cast<std::chrono::seconds>(test_timeout).count());
  return hung;
}

std::string exit_contradiction(const std::string& tool, const process::Result& result,
                               const std::vector<report::TestCase>& tests, int failed_exit) {
  if (result.interrupted || result.timed_out) return "";  // said elsewhere
  if (result.stopped) {
    // Stopped by the per-test watchdog with no test left to blame.
    return fmt::format(
        "{} had not ended a test_timeout after its last test finished, and was stopped with its process group: "
        "something kept it alive (a thread, a process), and run by hand it would not have ended (a session whose "
        "own end takes that long needs a longer test_timeout)",
        tool);
  }
  const bool one_failed = std::any_of(tests.begin(), tests.end(), [](const report::TestCase& t) {
    return t.status == report::TestStatus::failed || t.status == report::TestStatus::error;
  });
  if (result.signal == 0 && (result.exit_code == 0 || (one_failed && result.exit_code == failed_exit))) return "";
  return fmt::format(
      "{} {} after every test of the batch had finished, where it exits 0 when they pass and {} when one fails: "
      "run by hand, this run is red (a crash on its way out, or a failure of the run as a whole; its output is "
      "in the consumer's log)",
      tool, result.describe(), failed_exit);
}

}  // namespace gate::suite
