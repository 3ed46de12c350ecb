#include "suite/suite_run.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "suite/scheduler.h"
#include "suite/shard_plan.h"

namespace gate::suite {
namespace {

bool failed(const report::TestCase& t) {
  return t.status == report::TestStatus::failed || t.status == report::TestStatus::error;
}

std::vector<WorkItem> single_items(const std::vector<std::string>& tests) {
  std::vector<WorkItem> items;
  for (size_t i = 0; i < tests.size(); ++i) items.push_back(WorkItem{{tests[i]}, 1.0, i, ""});
  return items;
}

ScheduleResult run_tests(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                         const std::vector<std::string>& tests, const std::string& phase) {
  return run_items(runner, env, single_items(tests), static_cast<size_t>(consumer.parallel), consumer.test_timeout, phase);
}

// Retries of what failed (not what timed out: it would only hang again).
void retry_failures(const config::Consumer& consumer, Runner& runner, const RunEnv& env, const std::string& label,
                    TestRuns& runs) {
  for (int attempt = 1; attempt <= consumer.retries; ++attempt) {
    std::vector<std::string> again;
    for (const auto& [name, t] : runs.by_test) {
      if (failed(t) && !t.timed_out) again.push_back(name);
    }
    if (again.empty()) break;
    log::info(fmt::format("{}: {}retry {} of {} for {} failed test(s)", consumer.name, label, attempt, consumer.retries,
                          again.size()));
    auto rerun = run_tests(consumer, runner, env, again, fmt::format("{}retry{}", label, attempt));
    runs.executions += rerun.tests.size();
    for (const auto& e : rerun.errors) runs.errors.push_back(e);
    for (auto& t : rerun.tests) {
      auto& previous = runs.by_test[t.id()];
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

// Confirmation reruns (as crater does): each test `times` more times.
void confirm(const config::Consumer& consumer, Runner& runner, const RunEnv& env, const std::vector<std::string>& tests,
             const std::string& label, TestRuns& runs) {
  if (tests.empty() || consumer.flaky_reruns == 0) return;
  log::info(fmt::format("{}: {}confirming {} test(s) that failed and then passed, {} run(s) each", consumer.name, label,
                        tests.size(), consumer.flaky_reruns));
  for (int round = 1; round <= consumer.flaky_reruns; ++round) {
    auto rerun = run_tests(consumer, runner, env, tests, fmt::format("{}confirm{}", label, round));
    runs.executions += rerun.tests.size();
    for (const auto& e : rerun.errors) runs.errors.push_back(e);
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
                                   const RunContext& context, const std::map<std::string, double>& durations) {
  CandidateSuite suite;
  std::error_code ec;
  std::filesystem::create_directories(env.scratch, ec);
  suite.collected = runner.enumerate(env);
  if (suite.collected.empty()) return suite;
  auto items = make_items(suite.collected, durations, consumer.serial_groups);
  int shards = context.shard_count > 0 ? context.shard_count : 1;
  if (shards > 1) items = balance(items, static_cast<size_t>(shards)).at(static_cast<size_t>(context.shard_index - 1));
  if (context.shard_count > 0) suite.shard = fmt::format("{}/{}", context.shard_index, shards);
  std::vector<std::string> planned;
  for (const auto& item : items) planned.insert(planned.end(), item.tests.begin(), item.tests.end());
  suite.planned = planned.size();
  log::info(fmt::format("{}: {} test(s) collected{}, {} to run on {} worker(s), about {:.1f}s of work", consumer.name,
                        suite.collected.size(), suite.shard.empty() ? "" : ", shard " + suite.shard, suite.planned,
                        consumer.parallel, total_estimate(items)));
  runner.prepare(env, planned);
  auto first = run_items(runner, env, items, static_cast<size_t>(consumer.parallel), consumer.test_timeout, "run");
  suite.runs.executions += first.tests.size();
  for (auto& t : first.tests) suite.runs.by_test[t.id()] = t;
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

BaselineSuite run_baseline_suite(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                                 const std::vector<std::string>& failing, const std::vector<std::string>& flaky) {
  std::error_code ec;
  std::filesystem::create_directories(env.scratch, ec);
  std::vector<std::string> all = failing;
  all.insert(all.end(), flaky.begin(), flaky.end());
  runner.prepare(env, all);
  TestRuns runs;
  if (!failing.empty()) {
    auto first = run_tests(consumer, runner, env, failing, "baseline");
    runs.executions += first.tests.size();
    runs.errors = first.errors;
    for (auto& t : first.tests) runs.by_test[t.id()] = t;
    retry_failures(consumer, runner, env, "baseline-", runs);
  }
  confirm(consumer, runner, env, flaky, "baseline-", runs);
  BaselineSuite out;
  out.confirm = runs.confirm;
  out.errors = runs.errors;
  out.executions = runs.executions;
  for (const auto& name : failing) {
    auto it = runs.by_test.find(name);
    // A test that did not complete on the baseline (not run, timed out) is
    // not evidence: it failed for a reason of its own.
    if (it == runs.by_test.end() || it->second.timed_out || it->second.status == report::TestStatus::skipped) {
      out.incomplete.push_back(name);
      continue;
    }
    out.on_baseline[name] = it->second.status;
  }
  return out;
}

}  // namespace gate::suite
