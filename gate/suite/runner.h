#pragma once
// Test runners: how a consumer's tests are listed and run in batches. A
// runner is one small class; adding one is one file and a line in
// make_runner().
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "process/runner.h"
#include "report/model.h"

namespace gate::suite {

struct RunEnv {
  std::vector<std::string> command;  // the consumer's `run` (expanded): how to start the tool
  std::filesystem::path worktree;
  process::Environment env;
  std::filesystem::path log_file;
  std::function<void(std::string_view)> on_line;  // live output
  std::filesystem::path scratch;                  // per-run files (reports of each batch)
  std::chrono::steady_clock::time_point deadline =
      std::chrono::steady_clock::time_point::max();  // the consumer's timeout
  std::string commit;                                // the consumer's, checked out in worktree
  std::filesystem::path listing_cache;               // where a runner may keep its listings ("" = nowhere)
  std::function<void()> on_started;                  // each time a tool_spec process starts (RunContext)
};

struct BatchResult {
  std::vector<report::TestCase> tests;  // one per test asked for that ran
  std::vector<std::string> not_run;     // to run again (after a timed-out test)
  std::string error;                    // the batch failed as a whole (not a test failure)
  bool interrupted = false;
};

// The tests of a batch, by name: views of the caller's list (which outlives
// the batch), not copies of a million names.
using TestNames = std::vector<std::string_view>;

class Runner {
 public:
  virtual ~Runner() = default;
  // The tests the selection holds, in collection order. Throws InfraError
  // when the tool cannot list them; an empty list is returned as such.
  virtual std::vector<std::string> enumerate(const RunEnv& env) = 0;
  // Once, after listing and before any batch (e.g. compiling test binaries
  // that every worker then reuses). Throws InfraError when it fails.
  virtual void prepare(const RunEnv& /*env*/, const std::vector<std::string>& /*tests*/) {}
  // Runs `tests` in one process. A test running longer than `test_timeout`
  // (0 = none) is stopped and reported as timed out; tests after it in the
  // batch come back in not_run.
  virtual BatchResult run_batch(const RunEnv& env, const TestNames& tests, std::chrono::milliseconds test_timeout,
                                const std::string& batch_name) = 0;
  // Why the batches since the last call did not collect the tests the
  // listing named (a kept listing gone stale), or "" when they did (or the
  // runner cannot tell). Once said, the next enumerate() lists afresh.
  virtual std::string listing_contradicted() { return ""; }
};

std::unique_ptr<Runner> make_runner(const config::Consumer& consumer);

// Helpers shared by the runners.
// The consumer's tool (`run`) with `args`, in the worktree, with the run's
// environment and log file: what every process of a runner starts from.
process::Spec tool_spec(const RunEnv& env, const std::vector<std::string>& args);

// A batch's per-test watchdog: the tool is stopped once no test has
// finished for test_timeout. (process::run calls on_line and should_stop
// from its one loop, so no lock is needed.)
class ProgressWatch {
 public:
  // Sets spec.should_stop when test_timeout > 0; the watch must outlive the run.
  void arm(process::Spec& spec, std::chrono::milliseconds test_timeout);
  void progressed() { last_ = std::chrono::steady_clock::now(); }
  // No test has finished for test_timeout (never, when it is 0).
  bool expired(std::chrono::milliseconds test_timeout) const {
    return test_timeout.count() > 0 && std::chrono::steady_clock::now() - last_ > test_timeout;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// "^(a|b)$", each name's regex characters escaped: selects exactly these tests.
std::string anchored_alternation(const std::vector<std::string>& names);
std::string anchored_alternation(const TestNames& names);
// What is left of the consumer's timeout, as a process timeout (0 = none).
std::chrono::milliseconds time_left(const RunEnv& env);
// The result of a test stopped at test_timeout.
report::TestCase timed_out_test(const std::string& runner, const std::string& id,
                                std::chrono::milliseconds test_timeout);

// Why a batch whose every test finished is red all the same, or "" when its
// process ended as `tool` ends after those results: 0 when none failed,
// `failed_exit` when one did. Anything else (killed while it tore itself
// down, a crash on its way out, a failure of the run as a whole: a plugin's
// coverage threshold, a TestMain's own check; or no end at all, stopped by
// the per-test watchdog) makes the run red by hand, where the tests'
// results alone would call it green.
std::string exit_contradiction(const std::string& tool, const process::Result& result,
                               const std::vector<report::TestCase>& tests, int failed_exit);

}  // namespace gate::suite
