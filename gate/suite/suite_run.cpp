#include "suite/suite_run.h"

#include <fmt/format.h>

#include <set>

#include "core/error.h"
#include "core/log.h"
#include "suite/scheduler.h"
#include "suite/shard_plan.h"
#include "suite/timings.h"

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

}  // namespace

std::string classify(report::TestStatus final, bool timed_out, bool retried_pass, std::optional<bool> fails_on_baseline) {
  if (timed_out) return "timed-out";
  if (final == report::TestStatus::skipped) return "skipped";
  if (final == report::TestStatus::passed) return retried_pass ? "flaky" : "passed";
  if (fails_on_baseline.has_value() && *fails_on_baseline) return "pre-existing";
  return final == report::TestStatus::error ? "error" : "regression";
}

void run_suite(const config::Consumer& consumer, Runner& runner, RunEnv env, const RunContext& context,
               report::ConsumerResult& result) {
  std::error_code ec;
  std::filesystem::create_directories(env.scratch, ec);
  std::vector<std::string> tests = runner.enumerate(env);
  if (tests.empty()) {
    result.status = report::ConsumerStatus::error;
    result.reasons.push_back(fmt::format("the test selection [{}] holds no test: a run that tests nothing never passes",
                                         fmt::join(consumer.tests, " ")));
    return;
  }
  auto store = timings_file(context.cache_dir, consumer.name);
  auto durations = load_timings(store);
  auto items = make_items(tests, durations, consumer.serial_groups);
  int shards = context.shard_count > 0 ? context.shard_count : 1;
  if (shards > 1) items = balance(items, static_cast<size_t>(shards)).at(static_cast<size_t>(context.shard_index - 1));
  if (context.shard_count > 0) result.shard = fmt::format("{}/{}", context.shard_index, shards);
  for (const auto& item : items) result.tests_planned += item.tests.size();
  log::info(fmt::format("{}: {} test(s) collected{}, {} to run on {} worker(s), about {:.1f}s of work", consumer.name,
                        tests.size(), result.shard.empty() ? "" : ", shard " + result.shard, result.tests_planned,
                        consumer.parallel, total_estimate(items)));

  runner.prepare(env, [&] {
    std::vector<std::string> planned;
    for (const auto& item : items) planned.insert(planned.end(), item.tests.begin(), item.tests.end());
    return planned;
  }());
  auto first = run_items(runner, env, items, static_cast<size_t>(consumer.parallel), consumer.test_timeout, "run");
  std::map<std::string, report::TestCase> by_test;
  for (auto& t : first.tests) by_test[t.name] = t;
  // Each worker's busy and idle time over the first pass (retries and
  // baseline reruns are on top).
  nlohmann::json workers = nlohmann::json::array();
  for (const auto& w : first.workers) {
    workers.push_back({{"worker", w.worker}, {"busy_seconds", w.busy}, {"idle_seconds", std::max(0.0, first.wall - w.busy)},
                       {"batches", w.batches}});
  }
  result.profile["workers"] = workers;
  result.profile["wall_seconds"] = first.wall;
  for (const auto& e : first.errors) result.reasons.push_back(e);

  // Durations measured on the candidate feed the next run's plan. A shard
  // does not write them: every shard of one run must plan from the same
  // store, or the splits would differ and a test could run twice or never.
  // (Its durations are in its verdict, for the fan-in to record.)
  std::map<std::string, double> measured;
  for (const auto& [name, t] : by_test) {
    if (t.seconds > 0) measured[name] = t.seconds;
  }
  if (shards == 1) update_timings(store, measured);

  // Retries on the candidate: a test that passes on one is flaky.
  std::set<std::string> passed_on_retry;
  for (int attempt = 1; attempt <= consumer.retries; ++attempt) {
    std::vector<std::string> again;
    for (const auto& [name, t] : by_test) {
      if (failed(t) && !t.timed_out) again.push_back(name);
    }
    if (again.empty()) break;
    log::info(fmt::format("{}: retry {} of {} for {} failed test(s)", consumer.name, attempt, consumer.retries, again.size()));
    auto rerun = run_items(runner, env, single_items(again), static_cast<size_t>(consumer.parallel), consumer.test_timeout,
                           fmt::format("retry{}", attempt));
    for (auto& t : rerun.tests) {
      auto& previous = by_test[t.name];
      int attempts = previous.attempts + 1;
      if (!failed(t) && t.status != report::TestStatus::skipped) passed_on_retry.insert(t.name);
      if (failed(t)) {
        previous.attempts = attempts;  // keep the first failure's message
      } else {
        t.attempts = attempts;
        previous = t;
      }
    }
  }

  // Baseline: what still fails is run against the published image.
  std::map<std::string, bool> fails_on_baseline;
  std::vector<std::string> still_failing;
  for (const auto& [name, t] : by_test) {
    if (failed(t) && !t.timed_out) still_failing.push_back(name);
  }
  if (consumer.baseline && !still_failing.empty()) {
    if (!context.baseline_placeholders) {
      log::info(fmt::format("{}: no published image to compare with: every failure is a regression", consumer.name));
    } else {
      log::info(fmt::format("{}: running {} failed test(s) against the published {}", consumer.name, still_failing.size(),
                            context.baseline_digest));
      RunEnv baseline_env = env;
      // The published image's counters are not the candidate's.
      if (context.config && context.config->coverage) baseline_env.env.erase(context.config->coverage->env);
      for (const auto& [name, value] : *context.baseline_placeholders) baseline_env.env["GATE_" + name] = value;
      for (const auto& [name, tmpl] : consumer.env) {
        baseline_env.env[name] = config::expand(tmpl, *context.baseline_placeholders, "consumer '" + consumer.name + "'");
      }
      auto rerun = run_items(runner, baseline_env, single_items(still_failing), static_cast<size_t>(consumer.parallel),
                             consumer.test_timeout, "baseline");
      for (const auto& t : rerun.tests) fails_on_baseline[t.name] = failed(t) || t.timed_out;
    }
  }

  // Classify, in collection order.
  size_t executed = 0;
  for (const auto& name : tests) {
    auto it = by_test.find(name);
    if (it == by_test.end()) continue;
    report::TestCase t = it->second;
    std::optional<bool> baseline;
    if (auto b = fails_on_baseline.find(name); b != fails_on_baseline.end()) baseline = b->second;
    t.outcome = classify(t.status, t.timed_out, passed_on_retry.count(name) > 0, baseline);
    t.blocks = context.config ? config::policy_blocks(*context.config, consumer, t.outcome)
                              : config::policy_blocks(config::Config{}, consumer, t.outcome);
    if (t.status != report::TestStatus::skipped || t.timed_out) ++executed;
    if (t.blocks) {
      std::string message = t.message.substr(0, t.message.find('\n'));
      if (message.size() > 200) message = message.substr(0, 200) + "...";
      result.reasons.push_back(fmt::format("test {} {}: {}", name, t.outcome, message.empty() ? t.outcome : message));
    } else if (t.outcome == "flaky" || t.outcome == "pre-existing") {
      log::warn(fmt::format("{}: test {} is {} (policy: warn)", consumer.name, name, t.outcome));
    }
    result.tests.push_back(std::move(t));
  }
  size_t missing = result.tests_planned > result.tests.size() ? result.tests_planned - result.tests.size() : 0;
  bool blocked = std::any_of(result.tests.begin(), result.tests.end(), [](const auto& t) { return t.blocks; });
  if (missing > 0) {
    result.reasons.push_back(fmt::format("{} planned test(s) did not run (consumer timeout or a failed batch)", missing));
  }
  if (executed == 0) {
    result.reasons.push_back("no test executed: a run that tests nothing never passes");
  }
  if (blocked || missing > 0 || executed == 0 || !first.errors.empty()) {
    result.status = missing > 0 && std::chrono::steady_clock::now() >= env.deadline ? report::ConsumerStatus::timed_out
                                                                                   : report::ConsumerStatus::failed;
  } else {
    result.status = report::ConsumerStatus::passed;
  }
}

}  // namespace gate::suite
