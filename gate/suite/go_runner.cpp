// runner: go. Tests are "<package>::<TestName>" from `go test -list`; the
// selection is package patterns (default ./...) and -run=REGEX. With
// `prebuild: true` each package's test binary is compiled once
// (`go test -c`) before the workers start, and every batch runs the binary
// in the package's directory, as `go test` would, its events read as
// `go test -json` (through `go tool test2json`); without it a batch is
// `go test -json -run` (the build cache helps, but each worker links again).
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "suite/runner.h"
#include "suite/tool_output.h"

namespace gate::suite {
namespace {

class GoRunner : public Runner {
 public:
  GoRunner(std::vector<std::string> selection, bool prebuild) : prebuild_(prebuild) {
    for (auto& s : selection) {
      if (s.rfind("-run=", 0) == 0)
        run_filter_ = s.substr(5);
      else
        packages_.push_back(s);
    }
    if (packages_.empty()) packages_.push_back("./...");
  }

  std::vector<std::string> enumerate(const RunEnv& env) override {
    // Package directories, for running binaries where `go test` would.
    auto listed = go(env, {"list", "-f", "{{.ImportPath}} {{.Dir}}"}, packages_, "go list");
    std::istringstream dirs(listed);
    for (std::string line; std::getline(dirs, line);) {
      auto space = line.find(' ');
      if (space != std::string::npos) dirs_[line.substr(0, space)] = line.substr(space + 1);
    }
    return parse_go_test_list(
        go(env, {"test", "-list", run_filter_.empty() ? "." : run_filter_}, packages_, "go test -list"));
  }

  void prepare(const RunEnv& env, const std::vector<std::string>& tests) override {
    if (!prebuild_) return;
    std::set<std::string> packages;
    for (const auto& t : tests) packages.insert(t.substr(0, t.find("::")));
    std::filesystem::create_directories(env.scratch / "bin");
    for (const auto& package : packages) {
      auto binary = env.scratch / "bin" / (sanitize(package) + ".test");
      go(env, {"test", "-c", "-o", binary.string()}, {package}, "go test -c " + package);
      binaries_[package] = binary;
    }
    log::info(fmt::format("prebuilt {} test binar{} once for every worker", packages.size(),
                          packages.size() == 1 ? "y" : "ies"));
  }

  BatchResult run_batch(const RunEnv& env, const TestNames& tests, std::chrono::milliseconds test_timeout,
                        const std::string&) override {
    BatchResult out;
    // One process per package: a test binary holds one package.
    std::map<std::string, std::vector<std::string>> by_package;
    std::vector<std::string> order;
    for (std::string_view view : tests) {
      const std::string t(view);
      auto package = t.substr(0, t.find("::"));
      if (!by_package.count(package)) order.push_back(package);
      by_package[package].push_back(t.substr(t.find("::") + 2));
    }
    for (const auto& package : order) {
      run_package(env, package, by_package[package], test_timeout, out);
      if (out.interrupted) break;
    }
    return out;
  }

 private:
  static std::string sanitize(const std::string& package) {
    std::string s = package;
    for (auto& c : s) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return s;
  }

  std::string go(const RunEnv& env, std::vector<std::string> args, const std::vector<std::string>& packages,
                 const std::string& what) {
    args.insert(args.end(), packages.begin(), packages.end());
    process::Spec spec = tool_spec(env, args);
    spec.timeout = std::chrono::minutes(10);
    spec.keep_tail = 4 * 1024 * 1024;
    auto result = process::run(spec);
    if (result.interrupted) throw Interrupted();
    if (!result.ok()) {
      throw InfraError(fmt::format("{} failed ({}): {}", what, result.describe(), result.output_end(600)));
    }
    return result.output;
  }

  // Runs one package's tests and reads `go test -json` events (through
  // `go tool test2json` for a prebuilt binary, as go test itself does).
  void run_package(const RunEnv& env, const std::string& package, const std::vector<std::string>& names,
                   std::chrono::milliseconds test_timeout, BatchResult& out) {
    std::string regex = anchored_alternation(names);
    process::Spec spec;
    if (auto binary = binaries_.find(package); binary != binaries_.end()) {
      spec = tool_spec(env, {"tool", "test2json", "-t", "-p", package, binary->second.string(), "-test.v",
                             "-test.count=1", "-test.run", regex});
      spec.cwd = dirs_.count(package) ? std::filesystem::path(dirs_[package]) : env.worktree;
    } else {
      spec = tool_spec(env, {"test", "-json", "-count=1", "-run", regex, package});
    }
    spec.grace = std::chrono::seconds(2);
    spec.timeout = time_left(env);
    std::map<std::string, report::TestCase> finished;
    GoEvents events(package);
    ProgressWatch watch;
    spec.on_line = [&](std::string_view line) {
      std::string echo;
      auto test = events.read(line, &echo);
      if (env.on_line && !echo.empty()) env.on_line(echo);
      if (!test) return;
      std::string name = test->name.substr(package.size() + 2);
      finished[name] = std::move(*test);
      watch.progressed();
    };
    watch.arm(spec, test_timeout);
    auto result = process::run(spec);
    if (result.interrupted) {
      out.interrupted = true;
      return;
    }
    bool hung_found = false;
    const size_t first = out.tests.size();
    size_t settled = 0;
    for (const auto& name : names) {
      if (auto it = finished.find(name); it != finished.end()) {
        out.tests.push_back(it->second);
        ++settled;
      } else if (result.stopped && !hung_found) {
        hung_found = true;
        out.tests.push_back(timed_out_test("go", package + "::" + name, test_timeout));
      } else if (result.stopped) {
        out.not_run.push_back(package + "::" + name);
      }
    }
    if (!result.stopped && out.tests.empty() && !result.ok()) {
      out.error = fmt::format("{}: {} without running a test: {}", package, result.describe(), result.output_end(400));
    } else if (settled == names.size() && out.error.empty()) {
      const std::vector<report::TestCase> mine(out.tests.begin() + static_cast<std::ptrdiff_t>(first), out.tests.end());
      out.error = exit_contradiction("go test (" + package + ")", result, mine, 1);
    }
  }

  std::vector<std::string> packages_;
  std::string run_filter_;
  bool prebuild_;
  std::map<std::string, std::string> dirs_;
  std::map<std::string, std::filesystem::path> binaries_;
};

}  // namespace

std::unique_ptr<Runner> make_go_runner(std::vector<std::string> selection, bool prebuild) {
  return std::make_unique<GoRunner>(std::move(selection), prebuild);
}

}  // namespace gate::suite
