#include "suite/consumer_run.h"

#include <glob.h>

#include <algorithm>

#include <fmt/format.h>

#include "core/duration.h"
#include "core/error.h"
#include "core/log.h"
#include "report/junit.h"
#include "suite/baseline_run.h"
#include "suite/evidence.h"
#include "suite/image_run.h"
#include "suite/runner.h"
#include "suite/suite_run.h"
#include "suite/timings.h"

namespace gate::suite {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::filesystem::path> glob_files(const std::filesystem::path& base, const std::string& pattern) {
  std::string full = (base / pattern).string();
  glob_t matches{};
  std::vector<std::filesystem::path> out;
  if (::glob(full.c_str(), 0, nullptr, &matches) == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) out.emplace_back(matches.gl_pathv[i]);
  }
  ::globfree(&matches);
  return out;
}

// The first line of a message, bounded: reasons are one line each.
std::string shorten(const std::string& text, size_t max) {
  std::string line = text.substr(0, text.find('\n'));
  return line.size() <= max ? line : line.substr(0, max) + "...";
}

bool failed(const report::TestCase& t) {
  return t.status == report::TestStatus::failed || t.status == report::TestStatus::error;
}

const config::Config& config_of(const RunContext& context) {
  static const config::Config defaults;
  return context.config ? *context.config : defaults;
}

// Starts the candidate's services and runs setup; false (with the result
// filled in) when the consumer cannot go on.
bool prepare_candidate(ImageRun& run, const config::Consumer& consumer, report::ConsumerResult& result) {
  try {
    run.start_services();
  } catch (const InfraError& e) {
    result.status = report::ConsumerStatus::error;
    result.reasons.push_back(e.what());
    log::error(e.what());
    return false;
  }
  auto setup = run.setup();
  result.setup_cache = setup.cache;
  result.output_tail = setup.output_tail;
  if (setup.interrupted) throw Interrupted();
  if (!setup.ok) {
    result.status = setup.status;
    result.reasons.push_back(setup.reason);
    (void)consumer;
    return false;
  }
  return true;
}

// runner: command: the whole run is one unit, judged by its exit code and,
// with `junit`, by the tests its reports name.
void run_command_consumer(const config::Consumer& consumer, ImageRun& run, const RunContext& context,
                          report::ConsumerResult& result) {
  process::Result proc = run.run_command(consumer.run, "run");
  result.output_tail = proc.output;
  result.process_status = proc.describe();
  result.exit_code = proc.signal == 0 ? proc.exit_code : 128 + proc.signal;
  if (proc.interrupted) throw Interrupted();
  if (proc.timed_out) {
    result.status = report::ConsumerStatus::timed_out;
    result.reasons.push_back(
        fmt::format("killed at the consumer timeout ({}) with its process group", format_duration(consumer.timeout)));
    return;
  }
  if (consumer.junit) {
    auto files = glob_files(run.worktree(), *consumer.junit);
    if (files.empty()) result.reasons.push_back(fmt::format("no JUnit report matched '{}'", *consumer.junit));
    for (const auto& file : files) {
      try {
        auto tests = report::parse_junit_file(file);
        result.tests.insert(result.tests.end(), tests.begin(), tests.end());
      } catch (const InfraError& e) {
        result.reasons.push_back(e.what());
      }
    }
  }
  Evidence none;
  for (auto& test : result.tests) {
    test.outcome = classify(test, false, none);
    test.blocks = config::policy_blocks(config_of(context), consumer, test.outcome);
  }
  Judgement judgement = judge(result.exit_code, consumer.junit.has_value(), result.tests);
  result.status = judgement.status;
  if (!result.reasons.empty()) result.status = report::ConsumerStatus::failed;
  result.reasons.insert(result.reasons.end(), judgement.reasons.begin(), judgement.reasons.end());
}

// The suite engine's runners: the candidate's runs, the baseline's when
// failures need it, then every test's outcome from the evidence.
void run_suite_consumer(const config::Consumer& consumer, const git::Checkout& checkout, ImageRun& candidate,
                        const RunContext& context, report::ConsumerResult& result) {
  const auto store_file = timings_file(context.cache_dir, consumer.name);
  const TimingStore history = load_store(store_file);
  auto runner = make_runner(consumer);
  CandidateSuite suite;
  try {
    suite = run_candidate_suite(consumer, *runner, candidate.run_env(), context, history.durations());
  } catch (const InfraError& e) {
    result.phases.push_back(candidate.finish(&result.containers_removed));
    result.status = report::ConsumerStatus::error;
    result.reasons.push_back(e.what());
    return;
  }
  result.phases.push_back(candidate.finish(&result.containers_removed));
  result.shard = suite.shard;
  result.tests_planned = suite.planned;
  result.profile = suite.profile;
  if (suite.collected.empty()) {
    result.status = report::ConsumerStatus::error;
    result.reasons.push_back(fmt::format("the test selection [{}] holds no test: a run that tests nothing never passes",
                                         fmt::join(consumer.tests, " ")));
    return;
  }
  for (const auto& e : suite.runs.errors) result.reasons.push_back(e);

  std::vector<std::string> failing, flaky;
  for (const auto& [name, t] : suite.runs.by_test) {
    if (failed(t) && !t.timed_out) failing.push_back(name);
  }
  flaky.assign(suite.runs.passed_on_retry.begin(), suite.runs.passed_on_retry.end());
  Evidence evidence = compare_with_baseline(consumer, checkout, context, failing, flaky, result);
  evidence.history = &history;
  result.baseline.executions += suite.runs.executions - suite.planned;

  // Classify, in collection order.
  size_t executed = 0, pre_existing = 0;
  for (const auto& name : suite.collected) {
    auto it = suite.runs.by_test.find(name);
    if (it == suite.runs.by_test.end()) continue;
    report::TestCase t = it->second;
    t.outcome = classify(t, suite.runs.passed_on_retry.count(name) > 0, evidence);
    if (auto c = suite.runs.confirm.find(name); c != suite.runs.confirm.end()) {
      t.confirm_runs = c->second.runs;
      t.confirm_failures = c->second.failures;
    }
    if (auto b = evidence.fails_on_baseline.find(name); b != evidence.fails_on_baseline.end()) {
      t.baseline_runs += 1;
      t.baseline_failures += b->second ? 1 : 0;
    }
    if (auto c = evidence.baseline_confirm.find(name); c != evidence.baseline_confirm.end()) {
      t.baseline_runs += c->second.runs;
      t.baseline_failures += c->second.failures;
    }
    if (t.outcome == "pre-existing") {
      t.known_before = history.was_pre_existing(name);
      if (evidence.baseline != "identical") ++pre_existing;
    }
    if (t.outcome == "flaky") t.known_before = history.known_flaky(name);
    t.blocks = config::policy_blocks(config_of(context), consumer, t.outcome);
    if (t.status != report::TestStatus::skipped || t.timed_out) ++executed;
    if (t.blocks) {
      std::string message = shorten(t.message, 200);
      result.reasons.push_back(fmt::format("test {} {}: {}", name, t.outcome, message.empty() ? t.outcome : message));
    } else if (t.outcome == "flaky" || t.outcome == "pre-existing") {
      log::warn(fmt::format("{}: test {} is {} (policy: warn)", consumer.name, name, t.outcome));
    }
    result.tests.push_back(std::move(t));
  }
  // What baseline classification may excuse is bounded.
  const config::Limit& limit = config::max_pre_existing(config_of(context), consumer);
  bool over_limit = limit.exceeded(pre_existing, result.tests_planned);
  if (over_limit) {
    result.reasons.push_back(fmt::format(
        "{} pre-existing failure(s), {:.1f}% of the {} selected test(s), exceed max_pre_existing ({}): "
        "a baseline that fails this much is no evidence that the candidate is good",
        pre_existing, 100.0 * static_cast<double>(pre_existing) / static_cast<double>(std::max<size_t>(result.tests_planned, 1)),
        result.tests_planned, limit.text()));
  }
  size_t missing = result.tests_planned > result.tests.size() ? result.tests_planned - result.tests.size() : 0;
  bool blocked = std::any_of(result.tests.begin(), result.tests.end(), [](const auto& t) { return t.blocks; });
  if (missing > 0) {
    result.reasons.push_back(fmt::format("{} planned test(s) did not run (consumer timeout or a failed batch)", missing));
  }
  if (executed == 0) result.reasons.push_back("no test executed: a run that tests nothing never passes");
  if (blocked || over_limit || missing > 0 || executed == 0 || !suite.runs.errors.empty()) {
    result.status = missing > 0 && Clock::now() >= candidate.deadline() ? report::ConsumerStatus::timed_out
                                                                       : report::ConsumerStatus::failed;
  } else {
    result.status = report::ConsumerStatus::passed;
  }
  if (!result.passed() && (result.baseline.status == "invalid" || result.baseline.status == "unavailable") &&
      (!failing.empty() || !flaky.empty())) {
    result.reasons.push_back(fmt::format("baseline not used ({}): {}; no failure was excused", result.baseline.status,
                                         result.baseline.reason));
  }
  // What this run teaches the next one. A shard does not write it: every
  // shard of one run must plan from the same store, or the splits would
  // differ and a test could run twice or never (the fan-in records it).
  if (context.shard_count == 0 || context.shard_count == 1) {
    StoreUpdate update;
    for (const auto& t : result.tests) {
      if (t.status != report::TestStatus::skipped && !t.timed_out) update.seconds[t.id()] = t.seconds;
      // Flaky on a published image, as gate saw it: fails and passes there.
      bool flaky_published =
          (evidence.baseline == "identical" && t.outcome == "flaky") ||
          (evidence.baseline == "used" && t.baseline_failures > 0 && t.baseline_failures < t.baseline_runs &&
           t.outcome == "flaky");
      if (flaky_published) update.flaky_on_published.push_back(t.id());
    }
    if (result.passed()) {
      LastPass pass;
      pass.commit = result.commit;
      for (const auto& t : result.tests) {
        pass.tests.push_back(t.id());
        if (t.outcome == "pre-existing") pass.pre_existing.push_back(t.id());
      }
      update.last_pass = std::move(pass);
    }
    update_store(store_file, update);
  }
}

}  // namespace

Judgement judge(int exit_code, bool junit_configured, const std::vector<report::TestCase>& tests) {
  Judgement j{report::ConsumerStatus::passed, {}};
  size_t executed = 0;
  for (const auto& test : tests) {
    if (test.status == report::TestStatus::skipped) continue;
    ++executed;
    bool failing = test.outcome.empty() ? failed(test) : test.blocks;
    if (failing) {
      std::string message = test.message.empty() ? std::string(report::test_status_name(test.status)) : test.message;
      j.reasons.push_back(fmt::format("test {} {}: {}", test.id(),
                                      test.status == report::TestStatus::failed ? "failed" : "errored",
                                      shorten(message, 200)));
    }
  }
  if (!j.reasons.empty()) j.status = report::ConsumerStatus::failed;
  if (exit_code != 0) {
    j.status = report::ConsumerStatus::failed;
    if (j.reasons.empty()) {
      j.reasons.push_back(junit_configured
                              ? fmt::format("run exited {} although its JUnit report shows no failed test", exit_code)
                              : fmt::format("run exited {}", exit_code));
    }
  }
  if (junit_configured && executed == 0) {
    j.status = report::ConsumerStatus::failed;
    j.reasons.push_back("no test executed: a run that tests nothing never passes");
  }
  return j;
}

report::ConsumerResult run_consumer(const config::Consumer& consumer, const git::Checkout& checkout,
                                    const RunContext& context) {
  report::ConsumerResult result;
  result.name = consumer.name;
  result.repo = log::redact(consumer.repo);
  result.ref = consumer.ref;
  result.commit = checkout.commit;
  result.baseline.status = consumer.baseline ? "not-needed" : "off";
  for (const auto& sub : checkout.submodules) {
    result.submodules.push_back(fmt::format("{} {} {}", sub.path, sub.commit, log::redact(sub.url)));
  }
  result.log_file = fmt::format("logs/{}.log", consumer.name);
  const std::filesystem::path log_path = context.report_dir / result.log_file;
  std::error_code ec;
  std::filesystem::remove(log_path, ec);

  const auto started = Clock::now();
  bool interrupted = false;
  {
    ImageRun candidate(consumer, context.candidate, context, checkout, log_path, false);
    try {
      if (prepare_candidate(candidate, consumer, result)) {
        if (consumer.runner == "command") {
          run_command_consumer(consumer, candidate, context, result);
        } else {
          run_suite_consumer(consumer, checkout, candidate, context, result);
        }
      }
    } catch (const Interrupted&) {
      interrupted = true;
    } catch (const UsageError&) {
      throw;
    } catch (const InfraError& e) {
      result.status = report::ConsumerStatus::error;
      result.reasons.push_back(e.what());
    }
    if (result.phases.empty()) result.phases.push_back(candidate.finish(&result.containers_removed));
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (interrupted) throw Interrupted();
  log::info(fmt::format("{}: {} in {:.1f}s{}", consumer.name, report::consumer_status_name(result.status),
                        result.seconds, result.reasons.empty() ? "" : " - " + result.reasons.front()));
  return result;
}

}  // namespace gate::suite
