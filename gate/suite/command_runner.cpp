// runner: command with `junit`: the consumer's own command, whole, every
// time (gate cannot select its tests), its tests read from the JUnit
// reports it writes. So it gets the suite engine's evidence rules too:
// retries and baseline reruns run the command again and compare test by
// test. The first run is the listing: enumerate() runs the command and the
// first batch is answered from it.
#include <glob.h>

#include <fmt/format.h>

#include <map>
#include <optional>
#include <unordered_map>

#include "core/error.h"
#include "core/log.h"
#include "report/junit.h"
#include "suite/runner.h"

namespace gate::suite {
namespace {

// The files the junit glob matches inside the checkout. A match that
// resolves outside it (a committed symlink, "..") is never read, nor deleted
// as a stale report: it is named in `outside`.
struct Matches {
  std::vector<std::filesystem::path> inside;
  std::vector<std::filesystem::path> outside;
};

Matches glob_files(const std::filesystem::path& base, const std::string& pattern) {
  std::string full = (base / pattern).string();
  glob_t matches{};
  Matches out;
  std::error_code ec;
  const auto root = std::filesystem::weakly_canonical(base, ec);
  if (::glob(full.c_str(), 0, nullptr, &matches) == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) {
      std::filesystem::path match = matches.gl_pathv[i];
      auto real = std::filesystem::weakly_canonical(match, ec);
      auto relative = ec ? std::filesystem::path("..") : real.lexically_relative(root);
      bool inside = !relative.empty() && *relative.begin() != "..";
      (inside ? out.inside : out.outside).push_back(std::move(match));
    }
  }
  ::globfree(&matches);
  return out;
}

// Whether `tests` names exactly the cases of `report`, in its order.
bool same_tests(const std::vector<report::TestCase>& report, const TestNames& tests) {
  if (report.size() != tests.size()) return false;
  for (size_t i = 0; i < tests.size(); ++i) {
    if (!report[i].has_id(tests[i])) return false;
  }
  return true;
}

class CommandRunner : public Runner {
 public:
  explicit CommandRunner(std::string junit) : junit_(std::move(junit)) {}

  std::vector<std::string> enumerate(const RunEnv& env) override {
    first_ = run_whole(env);
    if (first_->interrupted) throw Interrupted();
    if (!first_->error.empty() && first_->tests.empty()) throw InfraError(first_->error);
    std::vector<std::string> ids;
    ids.reserve(first_->tests.size());
    for (const auto& t : first_->tests) ids.push_back(t.id());
    return ids;
  }

  BatchResult run_batch(const RunEnv& env, const TestNames& tests, std::chrono::milliseconds,
                        const std::string&) override {
    BatchResult whole;
    if (first_) {  // the listing run is the first batch
      whole = std::move(*first_);
      first_.reset();
    } else {
      whole = run_whole(env);
    }
    if (whole.interrupted) return whole;
    // Only the tests asked for; one the reports do not name did not run.
    BatchResult out;
    out.error = whole.error;
    // Usually the batch asks for every test in report order: then the
    // report is the answer as it stands (a report may name a million tests).
    if (same_tests(whole.tests, tests)) {
      out.tests = std::move(whole.tests);
      return out;
    }
    std::vector<std::string> ids;
    ids.reserve(whole.tests.size());
    for (const auto& t : whole.tests) ids.push_back(t.id());
    std::unordered_map<std::string_view, size_t> by_id;
    by_id.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) by_id.emplace(ids[i], i);
    out.tests.reserve(tests.size());
    for (const auto& id : tests) {
      if (auto it = by_id.find(id); it != by_id.end()) {
        out.tests.push_back(std::move(whole.tests[it->second]));
        by_id.erase(it);
      } else {
        // Skipped: it did not complete, so it is evidence of nothing.
        out.tests.push_back(
            {"", std::string(id), report::TestStatus::skipped, 0, "not in this run's JUnit report", ""});
      }
    }
    return out;
  }

 private:
  BatchResult run_whole(const RunEnv& env) {
    BatchResult out;
    // Reports of an earlier run would pass for this one's.
    for (const auto& stale : glob_files(env.worktree, junit_).inside) {
      std::error_code ec;
      std::filesystem::remove(stale, ec);
    }
    process::Spec spec = tool_spec(env, {});
    spec.on_line = env.on_line;
    spec.timeout = time_left(env);
    auto result = process::run(spec);
    if (result.interrupted) {
      out.interrupted = true;
      return out;
    }
    auto [files, outside] = glob_files(env.worktree, junit_);
    if (files.empty()) out.error = fmt::format("no JUnit report matched '{}' ({})", junit_, result.describe());
    if (!outside.empty()) {
      out.error = fmt::format("junit '{}' matched {}, which resolves outside the checkout (a symlink?): not read",
                              junit_, outside.front().lexically_relative(env.worktree).string());
    }
    for (const auto& file : files) {
      try {
        auto tests = report::parse_junit_file(file);
        if (out.tests.empty()) {
          out.tests = std::move(tests);
        } else {
          out.tests.insert(out.tests.end(), std::make_move_iterator(tests.begin()),
                           std::make_move_iterator(tests.end()));
        }
      } catch (const InfraError& e) {
        out.error = e.what();
      }
    }
    report::merge_repeated_tests(out.tests);
    bool any_failed = std::any_of(out.tests.begin(), out.tests.end(), [](const auto& t) {
      return t.status == report::TestStatus::failed || t.status == report::TestStatus::error;
    });
    if (result.timed_out) {
      out.error = fmt::format("the run was stopped at the consumer's timeout ({})", result.describe());
    } else if (!result.ok() && !any_failed && out.error.empty()) {
      out.error = fmt::format("the run {} although its JUnit report shows no failed test", result.describe());
    }
    return out;
  }

  std::string junit_;
  std::optional<BatchResult> first_;
};

}  // namespace

std::unique_ptr<Runner> make_command_runner(std::string junit) {
  return std::make_unique<CommandRunner>(std::move(junit));
}

}  // namespace gate::suite
