#include "suite/suite_run.h"

#include <fmt/format.h>

#include <deque>
#include <limits>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "suite/scheduler.h"
#include "suite/shard_plan.h"

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
  auto result = run_items(runner, env, tests, std::move(items), static_cast<size_t>(consumer.parallel),
                          consumer.test_timeout, phase);
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
        runs.flaked.insert(t.id());
        t.attempts = attempts;
        if (t.message.empty()) {  // a newly-flaky test blocks with the failure's reason
          t.message = std::move(previous.message);
          t.details = std::move(previous.details);
        }
        previous = std::move(t);
      }
    }
  }
}

// Runs 2..runs_per_test of the tests that passed every run so far. A test
// that fails in one of them failed and passed: it goes to the flaky
// evidence with the failure's reason; one that hangs is timed out.
void repeat_passes(const config::Consumer& consumer, Runner& runner, const RunEnv& env, TestRuns& runs) {
  for (int pass = 2; pass <= consumer.runs_per_test; ++pass) {
    std::vector<std::string> again;
    runs.by_test.for_each([&](const report::TestCase& t) {
      if (t.status == report::TestStatus::passed && !runs.flaked.count(t.id())) again.push_back(t.id());
    });
    if (again.empty()) break;
    log::info(fmt::format("{}: run {} of {} of {} test(s) that passed so far", consumer.name, pass,
                          consumer.runs_per_test, again.size()));
    auto rerun = run_tests(consumer, runner, env, again, fmt::format("repeat{}", pass), runs);
    for (auto& t : rerun.tests) {
      if (!failed(t) && !t.timed_out) continue;
      report::TestCase* previous = runs.by_test.find(t.id());
      if (!previous) continue;
      if (t.timed_out) {
        t.attempts = previous->attempts;
        *previous = std::move(t);
        continue;
      }
      runs.flaked.insert(t.id());
      previous->message = std::move(t.message);
      previous->details = std::move(t.details);
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

// The items' tests that are in `only`, each an item of its own (a serial
// group's other tests are not run, so nothing is run beside them).
std::vector<WorkItem> only_these(std::vector<WorkItem> items, const std::vector<std::string>& collected,
                                 const std::set<std::string>& only) {
  std::vector<WorkItem> kept;
  for (const auto& item : items) {
    item.tests.for_each([&](uint32_t at) {
      if (only.count(collected[at]))
        kept.push_back(WorkItem{TestPositions(at), item.estimate / item.tests.size(), item.guessed});
    });
  }
  return kept;
}

}  // namespace

// `listing`: 1, then 2 when the first listing was contradicted.
static CandidateSuite candidate_suite(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                                      const RunContext& context, const PricesOf& prices_of, int listing) {
  CandidateSuite suite;
  std::error_code ec;
  std::filesystem::create_directories(env.scratch, ec);
  suite.collected = runner.enumerate(env);
  if (suite.collected.empty()) return suite;
  auto items = make_items(suite.collected, prices_of(suite.collected), consumer.serial_groups);
  if (!context.only_tests.empty()) items = only_these(std::move(items), suite.collected, context.only_tests);
  int shards = context.shard_count > 0 ? context.shard_count : 1;
  if (shards > 1) {
    auto bins = balance(std::move(items), static_cast<size_t>(shards));
    suite.split = split_digest(bins, suite.collected);
    items = std::move(bins.at(static_cast<size_t>(context.shard_index - 1)));
  }
  if (context.shard_count > 0) suite.shard = fmt::format("{}/{}", context.shard_index, shards);
  // This shard's tests (unsharded: every test collected, no copy of them).
  std::vector<std::string> share;
  if (shards > 1) {
    for (const auto& item : items) {
      item.tests.for_each([&](uint32_t at) { share.push_back(suite.collected[at]); });
    }
  }
  if (!context.only_tests.empty() && shards == 1) {
    for (const auto& item : items) item.tests.for_each([&](uint32_t at) { share.push_back(suite.collected[at]); });
  }
  const std::vector<std::string>& planned = shards > 1 || !context.only_tests.empty() ? share : suite.collected;
  suite.planned = planned.size();
  log::info(fmt::format("{}: {} test(s) collected{}, {} to run on {} worker(s), about {:.1f}s of work", consumer.name,
                        suite.collected.size(), suite.shard.empty() ? "" : ", shard " + suite.shard, suite.planned,
                        consumer.parallel, total_estimate(items)));
  runner.prepare(env, planned);
  std::vector<std::string>().swap(share);
  auto first = run_items(runner, env, suite.collected, std::move(items), static_cast<size_t>(consumer.parallel),
                         consumer.test_timeout, "run");
  // The first pass ran what the listing planned, or it starts again from a
  // fresh listing: a test the listing missed would never have run.
  if (std::string why = runner.listing_contradicted(); !why.empty()) {
    if (listing > 1) {
      throw InfraError(fmt::format("the tests collected differ from one pytest run to the next: {}", why));
    }
    log::warn(fmt::format("{}: {}; listing the tests again and running them anew", consumer.name, why));
    return candidate_suite(consumer, runner, env, context, prices_of, listing + 1);
  }
  suite.runs.executions += first.tests.size();
  // (Not tallied in runs.counts: on the candidate only reruns are counted
  // run by run; a million first runs would cost a million entries.)
  suite.runs.by_test.adopt(std::move(first.tests));  // the vector itself: a report may name a million tests
  // Each worker's busy and idle time over the first pass (retries and
  // reruns are on top).
  nlohmann::json workers = nlohmann::json::array();
  for (const auto& w : first.workers) {
    workers.push_back({{"worker", w.worker},
                       {"busy_seconds", w.busy},
                       {"idle_seconds", std::max(0.0, first.wall - w.busy)},
                       {"batches", w.batches}});
  }
  suite.profile["workers"] = workers;
  suite.profile["wall_seconds"] = first.wall;
  suite.runs.errors = first.errors;
  repeat_passes(consumer, runner, env, suite.runs);
  retry_failures(consumer, runner, env, "", suite.runs);
  confirm(consumer, runner, env, {suite.runs.flaked.begin(), suite.runs.flaked.end()}, "", suite.runs);
  return suite;
}

CandidateSuite run_candidate_suite(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                                   const RunContext& context, const PricesOf& prices_of) {
  return candidate_suite(consumer, runner, env, context, prices_of, 1);
}

Sought seek(const config::Consumer& consumer, Runner& runner, const RunEnv& env, const std::vector<std::string>& tests,
            const SeekPlan& plan, TestRuns& runs) {
  Sought out;
  std::deque<std::string> queue(tests.begin(), tests.end());
  std::vector<std::pair<std::string, int>> active;  // test, reruns so far
  const size_t window = std::max<size_t>(plan.window, 1);
  for (int batch = 1;; ++batch) {
    while (active.size() < window && !queue.empty()) {
      active.emplace_back(std::move(queue.front()), 0);
      queue.pop_front();
    }
    if (active.empty() || plan.rounds <= 0) break;
    std::vector<std::string> names;
    for (const auto& a : active) names.push_back(a.first);
    auto rerun = run_tests(consumer, runner, env, names, fmt::format("{}{}", plan.label, batch), runs);
    for (const auto& t : rerun.tests) {
      if (t.status == report::TestStatus::skipped && !t.timed_out) continue;
      if ((failed(t) || t.timed_out) == plan.want_failure) out.found.insert(t.id());
    }
    std::vector<std::pair<std::string, int>> left;
    bool stop = false;
    for (auto& [name, tries] : active) {
      if (out.found.count(name)) continue;
      if (++tries < plan.rounds) {
        left.emplace_back(std::move(name), tries);
      } else {
        out.exhausted.push_back(name);
        stop = stop || plan.stop_at_exhausted;
      }
    }
    active = std::move(left);
    if (stop) break;
  }
  for (auto& a : active) out.unexamined.push_back(std::move(a.first));
  out.unexamined.insert(out.unexamined.end(), queue.begin(), queue.end());
  return out;
}

BaselineSuite run_baseline_suite(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                                 const ToCompare& compare) {
  const auto& failing = compare.failing;
  std::error_code ec;
  std::filesystem::create_directories(env.scratch, ec);
  std::vector<std::string> all = failing;
  all.insert(all.end(), compare.flaky.begin(), compare.flaky.end());
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
  // Is it flaky here too? Those that failed on the candidate every time but
  // passed here without failing once (when few: with many, the verdict
  // blocks whatever they are) are a regression unless they are flaky here
  // too: rerun until they fail here, at most kRescueReruns times (a test
  // that failed on every try on the candidate is rarely flaky; these reruns
  // are what a real regression costs). Then the tests that flaked on the
  // candidate, at most baseline_reruns times.
  std::vector<std::string> passed_here;
  for (const auto& [name, status] : out.on_baseline) {
    if (status == report::TestStatus::passed && runs.counts[name].failures == 0) passed_here.push_back(name);
  }
  // rerun_when_blocked: false stops at the first test sure to block, and
  // looks a few tests at a time so that it is found early.
  const bool stop = !consumer.rerun_when_blocked;
  const size_t window = stop ? static_cast<size_t>(std::max(consumer.parallel, 1)) : std::numeric_limits<size_t>::max();
  const int rescue_rounds = std::min(consumer.baseline_reruns, kRescueReruns);
  out.decided = compare.blocked_anyway || (passed_here.size() > kMaxRescues && compare.regression_blocks);
  if (!compare.blocked_anyway && !passed_here.empty() && passed_here.size() <= kMaxRescues && rescue_rounds > 0) {
    log::info(
        fmt::format("{}: rerunning {} test(s) that failed on the candidate every time on the baseline until they "
                    "fail there, {} time(s) at most",
                    consumer.name, passed_here.size(), rescue_rounds));
    auto sought = seek(consumer, runner, env, passed_here,
                       {true, rescue_rounds, window, stop && compare.regression_blocks, "baseline-rescue"}, runs);
    out.decided = compare.regression_blocks && !sought.exhausted.empty();
    out.unexamined = std::move(sought.unexamined);
  }
  if (!compare.flaky.empty() && consumer.baseline_reruns > 0) {
    if (stop && out.decided) {
      out.unexamined.insert(out.unexamined.end(), compare.flaky.begin(), compare.flaky.end());
    } else {
      log::info(fmt::format("{}: rerunning {} flaky test(s) on the baseline until they fail there, {} time(s) at most",
                            consumer.name, compare.flaky.size(), consumer.baseline_reruns));
      auto sought =
          seek(consumer, runner, env, compare.flaky,
               {true, consumer.baseline_reruns, window, stop && compare.newly_flaky_blocks, "baseline-seek"}, runs);
      out.decided = out.decided || (compare.newly_flaky_blocks && !sought.exhausted.empty());
      out.unexamined.insert(out.unexamined.end(), sought.unexamined.begin(), sought.unexamined.end());
    }
  }
  out.counts = runs.counts;
  out.errors = runs.errors;
  out.executions = runs.executions;
  return out;
}

}  // namespace gate::suite
