#include "suite/baseline_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include <set>
#include "core/error.h"
#include "core/log.h"
#include "suite/image_run.h"
#include "suite/runner.h"
#include "suite/suite_run.h"

namespace gate::suite {
namespace {

// The fresh worktree is the baseline's alone: released after it.
struct WorktreeGuard {
  git::Checkout checkout;
  ~WorktreeGuard() { git::release_worktree(checkout); }
};

// The containers of `created` that ran the candidate: named by one of its
// references, or by any name (another tag, an ID) of the same local image,
// unless the baseline is that same image.
std::vector<std::string> candidate_containers(const RunContext& context,
                                              const std::vector<engine::ContainerEvent>& created) {
  std::vector<std::string> out;
  const auto& refs = context.candidate.refs;
  std::string candidate_id, baseline_id;
  if (context.engine && !refs.empty()) {
    candidate_id = context.engine->image_id(refs.front());
    if (context.baseline && !context.baseline->refs.empty())
      baseline_id = context.engine->image_id(context.baseline->refs.front());
    if (candidate_id == baseline_id) candidate_id.clear();
  }
  std::map<std::string, std::string> id_of;  // each image name seen, resolved once
  for (const auto& e : created) {
    bool named = std::find(refs.begin(), refs.end(), e.image) != refs.end();
    if (!named && !candidate_id.empty()) {
      auto [it, fresh] = id_of.try_emplace(e.image);
      if (fresh) it->second = context.engine->image_id(e.image);
      named = it->second == candidate_id;
    }
    if (named) out.push_back(e.id.substr(0, 12) + " from " + e.image);
  }
  return out;
}

// Runs the replay; returns "" when it is valid evidence, else why not.
std::string replay(const config::Consumer& consumer, const git::Checkout& checkout, const RunContext& context,
                   const ToCompare& compare, report::ConsumerResult& result, BaselineSuite& suite) {
  WorktreeGuard fresh;
  try {
    fresh.checkout = git::fresh_worktree(checkout);
  } catch (const InfraError& e) {
    return fmt::format("no fresh worktree for it: {}", e.what());
  }
  const auto log_path = context.report_dir / fmt::format("logs/{}.baseline.log", consumer.name);
  std::error_code ec;
  std::filesystem::remove(log_path, ec);
  ImageRun run(consumer, *context.baseline, context, fresh.checkout, log_path, /*watch_containers=*/true);
  std::string invalid;
  try {
    run.start_services();
    auto setup = run.setup();
    if (setup.interrupted) throw Interrupted();
    if (!setup.ok) {
      invalid = "its setup failed: " + setup.reason;
    } else {
      auto runner = make_runner(consumer);
      RunEnv env = run.run_env();
      std::error_code ignored;
      std::filesystem::create_directories(env.scratch, ignored);
      runner->enumerate(env);  // the tool must work there too (and the go runner learns its package directories)
      suite = run_baseline_suite(consumer, *runner, env, compare);
      if (!suite.errors.empty())
        invalid = "a batch failed: " + suite.errors.front();
      else if (std::chrono::steady_clock::now() >= run.deadline())
        invalid = "it timed out (the consumer's timeout)";
    }
  } catch (const Interrupted&) {
    result.phases.push_back(run.finish(&result.containers_removed));
    throw;
  } catch (const InfraError& e) {
    invalid = e.what();
  }
  result.phases.push_back(run.finish(&result.containers_removed));
  result.phases.back().worktree = "fresh";
  // The proof: nothing of the candidate took part.
  auto foreign = candidate_containers(context, run.created());
  if (!foreign.empty()) {
    invalid = fmt::format(
        "the candidate took part: {} container(s) from the candidate were created during it ({}); "
        "the consumer names the candidate by a reference gate cannot rebind (use ${{CANDIDATE_REF}})",
        foreign.size(), fmt::join(foreign, ", "));
  }
  return invalid;
}

// A test that failed on the candidate every time but failed and passed on
// the published image may be flaky on both: rerun on the candidate (a run
// of its own: fresh worktree, services afresh) until it passes, at most
// kRescueReruns times. One that passes there is flaky on both images.
std::vector<std::string> flaky_on_baseline_only(const std::vector<std::string>& failing, const Evidence& evidence) {
  std::vector<std::string> ambiguous;
  for (const auto& name : failing) {
    auto status = evidence.on_baseline.find(name);
    auto counts = evidence.baseline_counts.find(name);
    if (status != evidence.on_baseline.end() && status->second == report::TestStatus::passed &&
        counts != evidence.baseline_counts.end() && counts->second.failures > 0) {
      ambiguous.push_back(name);
    }
  }
  return ambiguous;
}

void recheck_on_candidate(const config::Consumer& consumer, const git::Checkout& checkout, const RunContext& context,
                          const ToCompare& compare, const std::vector<std::string>& ambiguous, Evidence& evidence,
                          report::ConsumerResult& result) {
  const int rounds = std::min(consumer.baseline_reruns, kRescueReruns);
  if (ambiguous.empty() || ambiguous.size() > kMaxRescues || rounds == 0) return;
  log::info(
      fmt::format("{}: {} test(s) failed on the candidate every time and are flaky on the published image: "
                  "rerunning them on the candidate until they pass, {} time(s) at most",
                  consumer.name, ambiguous.size(), rounds));
  WorktreeGuard fresh;
  try {
    fresh.checkout = git::fresh_worktree(checkout);
  } catch (const InfraError& e) {
    log::warn(fmt::format("{}: no rerun on the candidate ({}): those tests stay regressions", consumer.name, e.what()));
    return;
  }
  const auto log_path = context.report_dir / fmt::format("logs/{}.recheck.log", consumer.name);
  ImageRun run(consumer, context.candidate, context, fresh.checkout, log_path, /*watch_containers=*/false);
  TestRuns runs;
  std::set<std::string> passed;
  try {
    run.start_services();
    if (auto setup = run.setup(); setup.ok) {
      auto runner = make_runner(consumer);
      RunEnv env = run.run_env();
      env.scratch = env.scratch.parent_path() / "recheck";
      runner->enumerate(env);
      const bool stop = !consumer.rerun_when_blocked && compare.regression_blocks;
      const size_t window = stop ? static_cast<size_t>(std::max(consumer.parallel, 1)) : ambiguous.size();
      passed = seek(consumer, *runner, env, ambiguous, {false, rounds, window, stop, "recheck"}, runs).found;
    } else if (setup.interrupted) {
      throw Interrupted();
    }
  } catch (const Interrupted&) {
    result.phases.push_back(run.finish(&result.containers_removed));
    throw;
  } catch (const InfraError& e) {
    log::warn(fmt::format("{}: the rerun on the candidate failed ({}): those tests stay regressions", consumer.name,
                          e.what()));
    passed.clear();
  }
  result.phases.push_back(run.finish(&result.containers_removed));
  result.phases.back().role = "candidate-recheck";
  result.phases.back().worktree = "fresh";
  // A batch that failed as a whole proves nothing either way.
  if (!runs.errors.empty()) passed.clear();
  evidence.rescued = passed;
  evidence.recheck = runs.counts;
  result.baseline.executions += runs.executions;
}

}  // namespace

Evidence compare_with_baseline(const config::Consumer& consumer, const git::Checkout& checkout,
                               const RunContext& context, const ToCompare& compare, report::ConsumerResult& result) {
  const auto& failing = compare.failing;
  const auto& flaky = compare.flaky;
  Evidence evidence;
  auto& report = result.baseline;
  if (context.baseline) report.digest = context.baseline->digest;
  if (!consumer.baseline) {
    report.status = "off";
  } else if (context.baseline && context.baseline->digest == context.candidate.digest) {
    report.status = "identical";
    report.reason =
        "the candidate is the published image (already published): its failures are pre-existing by identity";
  } else if (failing.empty() && flaky.empty()) {
    report.status = "not-needed";
  } else if (!context.baseline) {
    report.status = "unavailable";
    report.reason = context.baseline_unavailable.empty() ? "no published image" : context.baseline_unavailable;
  } else {
    log::info(fmt::format("{}: replaying {} failed and {} flaky test(s) against the published {}", consumer.name,
                          failing.size(), flaky.size(), context.baseline->digest));
    BaselineSuite suite;
    std::string invalid = replay(consumer, checkout, context, compare, result, suite);
    report.tests_rerun = failing.size() + flaky.size();
    report.executions += suite.executions;
    if (!invalid.empty()) {
      report.status = "invalid";
      report.reason = invalid;
      log::warn(fmt::format("{}: the baseline rerun is invalid: {}", consumer.name, invalid));
    } else {
      report.status = "used";
      evidence.on_baseline = suite.on_baseline;
      evidence.baseline_counts = suite.counts;
      auto ambiguous = flaky_on_baseline_only(failing, evidence);
      if (!consumer.rerun_when_blocked && suite.decided) {
        suite.unexamined.insert(suite.unexamined.end(), ambiguous.begin(), ambiguous.end());
      } else if (!compare.blocked_anyway) {
        recheck_on_candidate(consumer, checkout, context, compare, ambiguous, evidence, result);
      }
      std::vector<std::string> notes;
      if (!suite.incomplete.empty()) {
        notes.push_back(fmt::format("{} test(s) did not complete there and count as failures: {}",
                                    suite.incomplete.size(), fmt::join(suite.incomplete, ", ")));
      }
      if (!suite.unexamined.empty()) {
        const size_t listed = std::min<size_t>(suite.unexamined.size(), 20);
        notes.push_back(fmt::format(
            "{} test(s) not rerun to look for flakiness, since the consumer blocks anyway: "
            "without that evidence they stay regressions or newly-flaky ({}{})",
            suite.unexamined.size(), fmt::join(suite.unexamined.begin(), suite.unexamined.begin() + listed, ", "),
            listed < suite.unexamined.size() ? ", ..." : ""));
      }
      report.reason = fmt::format("{}", fmt::join(notes, "; "));
    }
  }
  if (report.status == "unavailable") log::info(fmt::format("{}: no baseline: {}", consumer.name, report.reason));
  evidence.baseline = report.status;
  return evidence;
}

}  // namespace gate::suite
