#include "suite/suite_run.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "suite/scheduler.h"
#include "suite/shard_plan.h"

#include <set>

namespace gate::suite {
namespace {

bool failed(const report::TestCase& t) {
  return t.status == report::TestStatus::failed || t.status == report::TestStatus::error;
}

void tally(TestRuns& runs, const report::TestCase& t) {
  if (t.status == report::TestStatus::skipped && !t.timed_out) return;  // did not complete: no evidence
  auto& count = runs.counts[t.id()];
  count.runs++;
  if (failed(t) || t.timed_out) count.failures++;
}


// Runs tests again (serial groups still one at a time: run side by side,
// tests that share state would fail for that, and a failure on the
// baseline excuses one on the candidate), and counts what happened.
ScheduleResult run_tests(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                         const std::vector<std::string>& tests, const std::string& phase, TestRuns& runs) {
  auto items = make_items(tests, {}, consumer.serial_groups);
  auto result = run_items(runner, env, tests, std::move(items), static_cast<size_t>(consumer.parallel), consumer.test_timeout, phase);
  runs.executions += result.tests.size();
  for (const auto& e : result.errors) runs.errors.push_back(e);
  for (const auto& t : result.tests) tally(runs, t);
  return result;
}

// Retries of what failed (not what timed out: it would only hang again).
void retry_failures(const config::Consumer& consumer, Runner& runner, const RunEnv& env, const std::string& label,
                    TestRuns& runs) {
  for (int attempt = 1; attempt <= consumer.retries; ++attempt) {
    std::vector<std::string> again;
    runs.by_test.for_each([&](const report::TestCase& t) {
      if (failed(t) && !t.timed_out) again.push_back(t.id());
    });
    if (again.empty()) break;
    log::info(fmt::format("{}: {}retry {} of {} for {} failed test(s)", consumer.name, label, attempt, consumer.retries,
                          again.size()));
    auto rerun = run_tests(consumer, runner, env, again, fmt::format("{}retry{}", label, attempt), runs);
    for (auto& t : rerun.tests) {
      report::TestCase* found = runs.by_test.find(t.id());
      report::TestCase& previous = found ? *found : runs.by_test.put(t);
      int attempts = previous.attempts + 1;
      if (failed(t) || t.timed_out) {
        previous.attempts = attempts;  // keep the first failure's message, if it had one
        if (previous.message.empty() || previous.message == "failed") {
          previous.message = t.message;
          previous.details = t.details;
        }
      } else if (t.status != report::TestStatus::skipped) {
        runs.passed_on_retry.insert(t.id());
        t.attempts = attempts;
        previous = t;
      }
    }
  }
}

// Confirmation reruns (as crater does): each test flaky_reruns more times.
void confirm(const config::Consumer& consumer, Runner& runner, const RunEnv& env, const std::vector<std::string>& tests,
             const std::string& label, TestRuns& runs) {
  if (tests.empty() || consumer.flaky_reruns == 0) return;
  log::info(fmt::format("{}: {}confirming {} test(s) that failed and then passed, {} run(s) each", consumer.name, label,
                        tests.size(), consumer.flaky_reruns));
  for (int round = 1; round <= consumer.flaky_reruns; ++round) {
    auto rerun = run_tests(consumer, runner, env, tests, fmt::format("{}confirm{}", label, round), runs);
    for (const auto& t : rerun.tests) {
      if (t.status == report::TestStatus::skipped) continue;
      auto& count = runs.confirm[t.id()];
      count.runs++;
      if (failed(t) || t.timed_out) count.failures++;
    }
  }
}

}  // namespace

CandidateSuite run_candidate_suite(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                                   const RunContext& context, const PricesOf& prices_of) {
  CandidateSuite suite;
  std::error_code ec;
  std::filesystem::create_directories(env.scratch, ec);
  suite.collected = runner.enumerate(env);
  if (suite.collected.empty()) return suite;
  auto items = make_items(suite.collected, prices_of(suite.collected), consumer.serial_groups);
  int shards = context.shard_count > 0 ? context.shard_count : 1;
  if (shards > 1) items = balance(std::move(items), static_cast<size_t>(shards)).at(static_cast<size_t>(context.shard_index - 1));
  if (context.shard_count > 0) suite.shard = fmt::format("{}/{}", context.shard_index, shards);
  // This shard's tests (unsharded: every test collected, no copy of them).
  std::vector<std::string> share;
  if (shards > 1) {
    for (const auto& item : items) {
      for (uint32_t at : item.tests) share.push_back(suite.collected[at]);
    }
  }
  const std::vector<std::string>& planned = shards > 1 ? share : suite.collected;
  suite.planned = planned.size();
  log::info(fmt::format("{}: {} test(s) collected{}, {} to run on {} worker(s), about {:.1f}s of work", consumer.name,
                        suite.collected.size(), suite.shard.empty() ? "" : ", shard " + suite.shard, suite.planned,
                        consumer.parallel, total_estimate(items)));
  runner.prepare(env, planned);
  std::vector<std::string>().swap(share);
  auto first = run_items(runner, env, suite.collected, std::move(items), static_cast<size_t>(consumer.parallel), consumer.test_timeout, "run");
  suite.runs.executions += first.tests.size();
  // (Not tallied in runs.counts: on the candidate only reruns are counted
  // run by run; a million first runs would cost a million entries.)
  suite.runs.by_test.adopt(std::move(first.tests));  // the vector itself: a report may name a million tests
  // Each worker's busy and idle time over the first pass (retries and
  // reruns are on top).
  nlohmann::json workers = nlohmann::json::array();
  for (const auto& w : first.workers) {
    workers.push_back({{"worker", w.worker}, {"busy_seconds", w.busy}, {"idle_seconds", std::max(0.0, first.wall - w.busy)},
                       {"batches", w.batches}});
  }
  suite.profile["workers"] = workers;
  suite.profile["wall_seconds"] = first.wall;
  suite.runs.errors = first.errors;
  retry_failures(consumer, runner, env, "", suite.runs);
  confirm(consumer, runner, env, {suite.runs.passed_on_retry.begin(), suite.runs.passed_on_retry.end()}, "", suite.runs);
  return suite;
}

std::set<std::string> seek(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                           const std::vector<std::string>& tests, bool want_failure, int rounds,
                           const std::string& label, TestRuns& runs) {
  std::set<std::string> found;
  std::vector<std::string> pending = tests;
  for (int round = 1; round <= rounds && !pending.empty(); ++round) {
    auto rerun = run_tests(consumer, runner, env, pending, fmt::format("{}{}", label, round), runs);
    for (const auto& t : rerun.tests) {
      if (t.status == report::TestStatus::skipped && !t.timed_out) continue;
      if ((failed(t) || t.timed_out) == want_failure) found.insert(t.id());
    }
    std::vector<std::string> left;
    for (const auto& name : pending) {
      if (!found.count(name)) left.push_back(name);
    }
    pending = std::move(left);
  }
  return found;
}

BaselineSuite run_baseline_suite(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                                 const std::vector<std::string>& failing, const std::vector<std::string>& flaky,
                                 bool rescue_regressions) {
  std::error_code ec;
  std::filesystem::create_directories(env.scratch, ec);
  std::vector<std::string> all = failing;
  all.insert(all.end(), flaky.begin(), flaky.end());
  runner.prepare(env, all);
  TestRuns runs;
  if (!failing.empty()) {
    auto first = run_tests(consumer, runner, env, failing, "baseline", runs);
    for (auto& t : first.tests) runs.by_test.put(std::move(t));
    retry_failures(consumer, runner, env, "baseline-", runs);
  }
  BaselineSuite out;
  for (const auto& name : failing) {
    const report::TestCase* t = runs.by_test.find(name);
    // A test that did not complete on the baseline (not run, timed out) is
    // not evidence: it failed for a reason of its own.
    if (!t || t->timed_out || t->status == report::TestStatus::skipped) {
      out.incomplete.push_back(name);
      continue;
    }
    out.on_baseline[name] = t->status;
  }
  // Is it flaky here too? The tests that flaked on the candidate are rerun
  // until they fail here, at most baseline_reruns times. Those that failed
  // there every time but passed here without failing once (when few: with
  // many, the verdict blocks whatever they are) are a regression unless they
  // are flaky here too: the same, at most kRescueReruns times (a test that
  // failed on every try on the candidate is rarely flaky; their reruns are
  // what a real regression costs).
  std::vector<std::string> passed_here;
  for (const auto& [name, status] : out.on_baseline) {
    if (status == report::TestStatus::passed && runs.counts[name].failures == 0) passed_here.push_back(name);
  }
  if (!flaky.empty() && consumer.baseline_reruns > 0) {
    log::info(fmt::format("{}: rerunning {} flaky test(s) on the baseline until they fail there, {} time(s) at most",
                          consumer.name, flaky.size(), consumer.baseline_reruns));
    seek(consumer, runner, env, flaky, /*want_failure=*/true, consumer.baseline_reruns, "baseline-seek", runs);
  }
  const int rescue_rounds = std::min(consumer.baseline_reruns, kRescueReruns);
  if (rescue_regressions && !passed_here.empty() && passed_here.size() <= kMaxRescues && rescue_rounds > 0) {
    log::info(fmt::format("{}: rerunning {} test(s) that failed on the candidate every time on the baseline until they "
                          "fail there, {} time(s) at most",
                          consumer.name, passed_here.size(), rescue_rounds));
    seek(consumer, runner, env, passed_here, /*want_failure=*/true, rescue_rounds, "baseline-rescue", runs);
  }
  out.counts = runs.counts;
  out.errors = runs.errors;
  out.executions = runs.executions;
  return out;
}

}  // namespace gate::suite
