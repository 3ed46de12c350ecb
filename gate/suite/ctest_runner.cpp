// runner: ctest. Tests are the names `ctest -N` lists (disabled ones left
// out); a batch is one ctest given those tests' numbers in a file (`-I
// FILE`: no regex of every name for ctest to match each test against, no
// command line that grows with the batch), its own --output-junit, and
// ctest's own per-test --timeout.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "core/error.h"
#include "core/log.h"
#include "report/junit.h"
#include "suite/runner.h"
#include "suite/tool_output.h"

namespace gate::suite {
namespace {

class CtestRunner : public Runner {
 public:
  explicit CtestRunner(std::vector<std::string> selection) : selection_(std::move(selection)) {}

  std::vector<std::string> enumerate(const RunEnv& env) override {
    std::vector<std::string> args{"-N"};
    args.insert(args.end(), selection_.begin(), selection_.end());
    process::Spec spec = tool_spec(env, args);
    spec.timeout = std::chrono::minutes(5);
    std::vector<std::string> tests;
    std::map<std::string, int> numbers;
    spec.on_line = [&](std::string_view line) {
      std::string name;
      int number = 0;
      if (parse_ctest_listing(line, &name, &number)) {
        tests.push_back(name);
        numbers.emplace(name, number);
      }
    };
    auto result = process::run(spec);
    if (result.interrupted) throw Interrupted();
    if (!result.ok()) throw InfraError(fmt::format("ctest -N failed ({})", result.describe()));
    std::lock_guard lock(mutex_);
    numbers_ = std::move(numbers);
    return tests;
  }

  BatchResult run_batch(const RunEnv& env, const TestNames& tests, std::chrono::milliseconds test_timeout,
                        const std::string& batch_name) override {
    BatchResult out;
    auto junit = std::filesystem::absolute(env.scratch / (batch_name + ".xml"));
    std::error_code ec;
    std::filesystem::remove(junit, ec);
    process::Spec spec = tool_spec(env, {"--output-junit", junit.string(), "--no-tests=error"});
    selection_args(env, tests, batch_name, spec.argv);
    if (test_timeout.count() > 0) {
      spec.argv.insert(spec.argv.end(),
                       {"--timeout", std::to_string(std::max<long long>(
                                         1, std::chrono::duration_cast<std::chrono::seconds>(test_timeout).count()))});
    }
    spec.timeout = time_left(env);
    std::map<std::string, std::string> words;
    spec.on_line = [&](std::string_view line) {
      if (env.on_line) env.on_line(line);
      std::string name, word;
      if (parse_ctest_result(line, &name, &word)) words[name] = word;
    };
    auto result = process::run(spec);
    if (result.interrupted) {
      out.interrupted = true;
      return out;
    }
    std::map<std::string, report::TestCase> by_name;
    if (std::filesystem::exists(junit)) {
      try {
        for (auto& c : report::parse_junit_file(junit)) by_name[c.name] = c;
      } catch (const InfraError& e) {
        log::warn(e.what());
      }
    }
    for (std::string_view view : tests) {
      const std::string test(view);
      auto w = words.find(test);
      auto j = by_name.find(test);
      if (w == words.end() && j == by_name.end()) {
        out.not_run.push_back(test);
        continue;
      }
      report::TestCase c =
          j != by_name.end() ? j->second : report::TestCase{"", test, report::TestStatus::passed, 0, "", ""};
      c.classname.clear();
      c.name = test;
      if (w != words.end()) {
        const std::string& word = w->second;
        if (word == "Passed") {
          c.status = report::TestStatus::passed;
        } else if (word == "Timeout") {
          c.status = report::TestStatus::error;
          c.timed_out = true;
          c.message = fmt::format("timed out: stopped by ctest --timeout ({})", test_timeout.count() / 1000);
        } else if (word == "Skipped" || word == "Disabled") {  // (SKIP_RETURN_CODE and the like; DISABLED)
          c.status = report::TestStatus::skipped;
        } else if (word == "Not Run") {  // by hand, ctest fails (exit 8)
          c.status = report::TestStatus::error;
          c.message = "ctest: not run (its program was not found, or a fixture or file it requires failed)";
        } else {
          c.status = report::TestStatus::failed;
          if (c.message.empty()) c.message = fmt::format("ctest: {}", word);
        }
      }
      out.tests.push_back(c);
    }
    if (result.timed_out) out.error = "stopped at the consumer's timeout";
    // ctest exits 8 when a test failed.
    if (out.error.empty() && out.not_run.empty() && !out.tests.empty())
      out.error = exit_contradiction("ctest", result, out.tests, 8);
    if (out.tests.empty()) {
      // Nothing of the batch ran: running the rest again would be the same.
      if (out.error.empty())
        out.error = fmt::format("ctest {} without running any test of the batch", result.describe());
      out.not_run.clear();
    }
    return out;
  }

 private:
  // `-I FILE` with the tests' numbers from the listing ("0,0,0,n,m,...":
  // no range, these tests), or the anchored -R of their names when a test
  // has no number (never listed).
  void selection_args(const RunEnv& env, const TestNames& tests, const std::string& batch_name,
                      std::vector<std::string>& argv) {
    std::string line = "0,0,0";
    {
      std::lock_guard lock(mutex_);
      for (auto test : tests) {
        auto it = numbers_.find(std::string(test));
        if (it == numbers_.end()) {
          argv.insert(argv.end(), {"-R", anchored_alternation(tests)});
          return;
        }
        line += fmt::format(",{}", it->second);
      }
    }
    const auto file = std::filesystem::absolute(env.scratch / (batch_name + ".tests"));
    std::error_code ec;
    std::filesystem::create_directories(env.scratch, ec);
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << line << '\n';
    if (!out) throw InfraError(fmt::format("cannot write {}", file.string()));
    argv.insert(argv.end(), {"-I", file.string()});
  }

  std::vector<std::string> selection_;
  std::mutex mutex_;  // batches run on several workers
  std::map<std::string, int> numbers_;
};

}  // namespace

std::unique_ptr<Runner> make_ctest_runner(std::vector<std::string> selection) {
  return std::make_unique<CtestRunner>(std::move(selection));
}

}  // namespace gate::suite
