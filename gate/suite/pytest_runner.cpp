// runner: pytest. Tests are node ids from `--collect-only -q`; a batch is
// one pytest process with those node ids and its own --junitxml. `-v`
// output tells, live, which tests have finished, so a hung test is known
// (the first of the batch not finished) and can be stopped at test_timeout.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <unordered_map>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "report/junit.h"
#include "suite/runner.h"
#include "suite/tool_output.h"

namespace gate::suite {
namespace {

// pytest's JUnit names a test by classname "tests.test_x" and name "test_a[1]";
// gate names tests by node id "tests/test_x.py::test_a[1]".
// JUnit names a pytest test by classname (the path without ".py", "/" and
// "::" as ".", classes appended) and name; the node ids asked for are indexed
// by that pair once per batch, so matching is linear in the tests (a scan of
// every id per case was quadratic: seconds of CPU at 20,000 tests).
class NodeIndex {
 public:
  explicit NodeIndex(const std::vector<std::string>& asked) {
    by_key_.reserve(asked.size());
    for (const auto& node : asked) {
      auto sep = node.rfind("::");
      if (sep == std::string::npos) continue;
      std::string dotted = node.substr(0, sep);
      if (dotted.size() > 3 && dotted.substr(dotted.size() - 3) == ".py") dotted.resize(dotted.size() - 3);
      for (auto& c : dotted) c = (c == '/' || c == ':') ? '.' : c;
      while (dotted.find("..") != std::string::npos) dotted.replace(dotted.find(".."), 2, ".");
      by_key_.emplace(key(dotted, node.substr(sep + 2)), node);  // the first of equals wins, as before
    }
  }

  // The node id of a JUnit case, or "" when none was asked for.
  std::string node_of(const report::TestCase& test) const {
    auto it = by_key_.find(key(test.classname, test.name));
    return it == by_key_.end() ? "" : it->second;
  }

 private:
  static std::string key(const std::string& classname, const std::string& name) { return classname + '\0' + name; }
  std::unordered_map<std::string, std::string> by_key_;
};

class PytestRunner : public Runner {
 public:
  explicit PytestRunner(std::vector<std::string> selection) : selection_(std::move(selection)) {}

  std::vector<std::string> enumerate(const RunEnv& env) override {
    std::vector<std::string> args{"--collect-only", "-q", "-p", "no:cacheprovider"};
    args.insert(args.end(), selection_.begin(), selection_.end());
    process::Spec spec = tool_spec(env, args);
    spec.timeout = std::chrono::minutes(5);
    std::vector<std::string> tests;
    spec.on_line = [&](std::string_view line) {
      if (is_pytest_node_line(line)) tests.emplace_back(line);
    };
    auto result = process::run(spec);
    if (result.interrupted) throw Interrupted();
    // pytest's exit 5: nothing collected. Never a green run: the caller says so.
    if (!result.ok() && !(result.signal == 0 && result.exit_code == 5)) {
      throw InfraError(fmt::format("pytest --collect-only failed ({}): {}", result.describe(), result.output_end(600)));
    }
    return tests;
  }

  BatchResult run_batch(const RunEnv& env, const TestNames& names, std::chrono::milliseconds test_timeout,
                        const std::string& batch_name) override {
    // (Copied: they become pytest's arguments anyway.)
    const std::vector<std::string> tests(names.begin(), names.end());
    BatchResult out;
    auto junit = env.scratch / (batch_name + ".xml");
    std::error_code ec;
    std::filesystem::remove(junit, ec);
    std::vector<std::string> args{"-v", "-p", "no:cacheprovider", "--junitxml=" + junit.string()};
    for (const auto& s : selection_) {
      if (!s.empty() && s.front() == '-') args.push_back(s);  // keep options such as -m / -k
    }
    args.insert(args.end(), tests.begin(), tests.end());
    process::Spec spec = tool_spec(env, args);
    (*spec.env)["PYTHONUNBUFFERED"] = "1";        // finished-test lines must arrive as they happen
    std::map<std::string, std::string> finished;  // node id -> status word
    ProgressWatch watch;
    spec.on_line = [&](std::string_view line) {
      if (env.on_line) env.on_line(line);
      std::string node, word;
      if (parse_pytest_verbose_line(line, &node, &word)) {
        finished[node] = word;
        watch.progressed();
      }
    };
    watch.arm(spec, test_timeout);
    spec.grace = std::chrono::seconds(2);
    spec.timeout = time_left(env);
    auto result = process::run(spec);
    if (result.interrupted) {
      out.interrupted = true;
      return out;
    }
    if (result.timed_out) {  // the consumer's own timeout: nothing more runs
      for (const auto& test : tests) {
        if (auto it = finished.find(test); it != finished.end()) {
          out.tests.push_back({"", test, pytest_status(it->second), 0, "", ""});
        }
      }
      out.error = "stopped at the consumer's timeout";
      return out;
    }
    if (result.stopped) {
      // The first test of the batch that did not finish is the one that hung.
      bool hung_found = false;
      for (const auto& test : tests) {
        if (auto it = finished.find(test); it != finished.end()) {
          out.tests.push_back({"", test, pytest_status(it->second), 0, it->second == "FAILED" ? "failed" : "", ""});
        } else if (!hung_found) {
          hung_found = true;
          out.tests.push_back(timed_out_test("pytest", test, test_timeout));
        } else {
          out.not_run.push_back(test);
        }
      }
      return out;
    }
    if (result.signal == 0 && result.exit_code == 5) {
      out.error = "pytest collected no test (exit 5)";
      return out;
    }
    std::vector<report::TestCase> cases;
    if (std::filesystem::exists(junit)) {
      try {
        cases = report::parse_junit_file(junit);
      } catch (const InfraError& e) {
        log::warn(e.what());
      }
    }
    // Map JUnit cases to node ids; fall back on -v lines for any missing.
    std::map<std::string, report::TestCase> by_node;
    const NodeIndex index(tests);
    for (auto& c : cases) {
      std::string node = index.node_of(c);
      if (node.empty()) continue;
      c.name = node;
      c.classname.clear();
      by_node[node] = c;
    }
    for (const auto& test : tests) {
      if (auto it = by_node.find(test); it != by_node.end()) {
        out.tests.push_back(it->second);
      } else if (auto f = finished.find(test); f != finished.end()) {
        out.tests.push_back({"", test, pytest_status(f->second), 0, "", ""});
      } else {
        out.not_run.push_back(test);
      }
    }
    if (out.tests.empty() && result.exit_code != 0) {
      out.error = fmt::format("pytest {} without running any test: {}", result.describe(), result.output_end(400));
    }
    return out;
  }

 private:
  std::vector<std::string> selection_;
};

}  // namespace

std::unique_ptr<Runner> make_pytest_runner(std::vector<std::string> selection) {
  return std::make_unique<PytestRunner>(std::move(selection));
}

}  // namespace gate::suite
