#include "suite/consumer_run.h"

#include <malloc.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <unordered_set>

#include <fmt/format.h>

#include "core/duration.h"
#include "core/error.h"
#include "core/escape.h"
#include "core/log.h"
#include "suite/baseline_run.h"
#include "suite/evidence.h"
#include "suite/image_run.h"
#include "suite/runner.h"
#include "suite/suite_run.h"
#include "suite/timings.h"

namespace gate::suite {
namespace {

using Clock = std::chrono::steady_clock;

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

// runner: command without `junit`: the whole run is one unit, judged by
// its exit code (with `junit` it goes through the suite engine, see
// suite/command_runner.cpp).
void run_command_consumer(const config::Consumer& consumer, ImageRun& run, report::ConsumerResult& result) {
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
  Judgement judgement = judge(result.exit_code, false, result.tests);
  result.status = judgement.status;
  result.reasons.insert(result.reasons.end(), judgement.reasons.begin(), judgement.reasons.end());
}

// Every test's outcome from the evidence, in collection order.
// The results are moved out of the suite (a report may name a million tests).
void classify_tests(const config::Consumer& consumer, const RunContext& context, CandidateSuite& suite,
                    const Evidence& evidence, const TimingStore& history, report::ConsumerResult& result) {
  auto tests = suite.runs.by_test.release_in_order(suite.collected);  // (a name collected twice is one test)
  for (auto& t : tests) {
    const std::string name = t.id();
    t.outcome = classify(t, suite.runs.flaked.count(name) > 0, evidence);
    using Counts = std::map<std::string, RunCount>;
    for (const Counts* counts : std::initializer_list<const Counts*>{&suite.runs.confirm, &evidence.recheck}) {
      if (auto c = counts->find(name); c != counts->end()) {
        t.confirm_runs += c->second.runs;
        t.confirm_failures += c->second.failures;
      }
    }
    if (auto c = evidence.baseline_counts.find(name); c != evidence.baseline_counts.end()) {
      t.baseline_runs = c->second.runs;
      t.baseline_failures = c->second.failures;
    }
    if (t.outcome == Outcome::pre_existing) t.known_before = history.was_pre_existing(name);
    if (t.outcome == Outcome::flaky) t.known_before = history.known_flaky(name);
    t.blocks = config::policy_blocks(config_of(context), consumer, t.outcome);
    if (t.blocks) {
      // A reason is one line: a name or message from the report is shown escaped.
      std::string message = core::terminal_line(shorten(t.message, 200));
      const std::string_view word = outcome_name(t.outcome);
      result.reasons.push_back(fmt::format("test {} {}: {}", core::terminal_line(name), word,
                                           message.empty() ? std::string(word) : message));
    } else if (excused(t.outcome)) {
      log::warn(fmt::format("{}: test {} is {} (policy: warn)", consumer.name, core::terminal_line(name),
                            outcome_name(t.outcome)));
    }
  }
  if (result.tests.empty()) {
    result.tests = std::move(tests);
  } else {
    result.tests.insert(result.tests.end(), std::make_move_iterator(tests.begin()),
                        std::make_move_iterator(tests.end()));
  }
}

// Tests the last passing run reported and this one did not (a suite that
// stopped half way looks complete otherwise). With a listing runner only at
// the same commit: there the listing itself says what exists. Returns
// whether the policy blocks on it.
bool check_missing(const config::Consumer& consumer, const RunContext& context, const CandidateSuite& suite,
                   const TimingStore& history, report::ConsumerResult& result) {
  if (!history.last_pass || context.shard_count > 1) return false;  // shards: `gate merge` checks the whole
  const std::unordered_set<std::string_view> ran(suite.collected.begin(), suite.collected.end());
  return note_missing(config_of(context), consumer, *history.last_pass,
                      missing_since(consumer, *history.last_pass, result.commit, ran), result);
}

// What this run teaches the next one. A shard does not write it: every
// shard of one run must plan from the same store, or the splits would
// differ and a test could run twice or never (the fan-in records it).
void record_history(const config::Consumer& consumer, const RunContext& context, const report::ConsumerResult& result) {
  if (context.shard_count > 1) return;
  auto file = timings_file(context.cache_dir, consumer.name);
  StoreUpdate lessons = lessons_of(consumer, result);
  if (!context.after_verdict) return update_store(file, std::move(lessons));
  std::string what = fmt::format("updating the timing store {}", file.string());
  context.after_verdict->add(std::move(what), [file = std::move(file), lessons = std::move(lessons)]() mutable {
    update_store(file, std::move(lessons));
  });
}

// The suite engine: the candidate's runs, the baseline's when failures
// need it, then every test's outcome from the evidence.
void run_suite_consumer(const config::Consumer& consumer, const git::Checkout& checkout, ImageRun& candidate,
                        const RunContext& context, report::ConsumerResult& result) {
  // Read once the tests are known: their durations go straight into the
  // plan's prices, the store keeps only the evidence (flaky history, the
  // last passing run).
  TimingStore history;
  const auto pin = context.pinned_timings.find(consumer.name);
  const PinnedTimings* pinned = pin == context.pinned_timings.end() ? nullptr : &pin->second;
  auto prices_of = [&](const std::vector<std::string>& collected) {
    Prices prices(collected.size(), -1);
    const auto store = timings_file(context.cache_dir, consumer.name);
    if (!pinned && !std::filesystem::exists(store)) return prices;
    // The tests' positions in name order (4 bytes a test, not a hash map of
    // their names): the store's entries, sorted too, are matched walking
    // forward, and by a binary search when one is out of order.
    std::vector<uint32_t> by_name(collected.size());
    std::iota(by_name.begin(), by_name.end(), 0);
    std::sort(by_name.begin(), by_name.end(), [&](uint32_t a, uint32_t b) { return collected[a] < collected[b]; });
    size_t next = 0;
    auto price = [&](std::string_view test, double seconds) {
      if (next >= by_name.size() || collected[by_name[next]] != test) {
        next = static_cast<size_t>(
            std::lower_bound(by_name.begin(), by_name.end(), test,
                             [&](uint32_t at, std::string_view name) { return collected[at] < name; }) -
            by_name.begin());
      }
      for (; next < by_name.size() && collected[by_name[next]] == test; ++next) prices[by_name[next]] = seconds;
    };
    if (!pinned) {
      history = load_store(store, price);
      return prices;
    }
    // Prices from what the plan pinned (nothing when it pinned none); the
    // evidence from the local store only.
    if (!pinned->file.empty()) read_pinned_durations(pinned->file, price);
    history = load_store(store, [](std::string_view, double) {});
    return prices;
  };
  auto runner = make_runner(consumer);
  CandidateSuite suite;
  try {
    suite = run_candidate_suite(consumer, *runner, candidate.run_env(), context, prices_of);
  } catch (const InfraError& e) {
    result.phases.push_back(candidate.finish(&result.containers_removed));
    // Stopped at the consumer's timeout: that is what happened, whatever the tool said then.
    const bool timed_out = Clock::now() >= candidate.deadline();
    result.status = timed_out ? report::ConsumerStatus::timed_out : report::ConsumerStatus::error;
    result.reasons.push_back(timed_out ? fmt::format("killed at the consumer timeout ({}) with its process group: {}",
                                                     format_duration(consumer.timeout), e.what())
                                       : e.what());
    return;
  }
  result.phases.push_back(candidate.finish(&result.containers_removed));
  result.shard = suite.shard;
  result.split = suite.split;
  result.tests_planned = suite.planned;
  result.profile = suite.profile;
  if (suite.collected.empty()) {
    result.status = report::ConsumerStatus::error;
    result.reasons.push_back(
        !consumer.knows_tests()
            ? "its JUnit reports name no test: a run that tests nothing never passes"
            : fmt::format("the test selection [{}] holds no test: a run that tests nothing never passes",
                          fmt::join(consumer.tests, " ")));
    return;
  }
  for (const auto& e : suite.runs.errors) result.reasons.push_back(e);

  ToCompare compare;
  suite.runs.by_test.for_each([&](const report::TestCase& t) {
    if (failed(t) && !t.timed_out) compare.failing.push_back(t.id());
    if (t.timed_out && config::policy_blocks(config_of(context), consumer, Outcome::timed_out))
      compare.blocked_anyway = true;
  });
  compare.flaky.assign(suite.runs.flaked.begin(), suite.runs.flaked.end());
  compare.blocked_anyway =
      compare.blocked_anyway || !suite.runs.errors.empty() || suite.runs.by_test.size() < suite.planned;
  compare.regression_blocks = config::policy_blocks(config_of(context), consumer, Outcome::regression);
  compare.newly_flaky_blocks = config::policy_blocks(config_of(context), consumer, Outcome::newly_flaky);
  Evidence evidence = compare_with_baseline(consumer, checkout, context, compare, result);
  evidence.history = &history;
  result.baseline.executions += suite.runs.executions - std::min(suite.runs.executions, suite.planned);

  classify_tests(consumer, context, suite, evidence, history, result);
  // What baseline classification may excuse is bounded.
  const std::string over_limit_reason = over_pre_existing_limit(config_of(context), consumer, result);
  const bool over_limit = !over_limit_reason.empty();
  if (over_limit) result.reasons.push_back(over_limit_reason);
  const bool missing_blocks = check_missing(consumer, context, suite, history, result);
  const bool batch_failed = !suite.runs.errors.empty();
  // A shard the split gave no test (fewer tests than shards): nothing to run
  // is its whole job. `gate merge` accepts it only beside a shard that ran
  // tests from the same split, and the consumer as a whole must test.
  const bool given_nothing = !suite.split.empty() && suite.planned == 0;
  const size_t collected = suite.collected.size();
  suite = CandidateSuite{};  // its results are in result.tests now; a million tests' worth of it is freed
  // ...and given back: glibc keeps freed small blocks (the ids, the plan)
  // mapped, under what the reports and the timing store allocate next.
  ::malloc_trim(0);
  size_t executed = std::count_if(result.tests.begin(), result.tests.end(),
                                  [](const auto& t) { return t.status != report::TestStatus::skipped || t.timed_out; });
  size_t not_run = result.tests_planned > result.tests.size() ? result.tests_planned - result.tests.size() : 0;
  bool blocked = std::any_of(result.tests.begin(), result.tests.end(), [](const auto& t) { return t.blocks; });
  if (not_run > 0) {
    result.reasons.push_back(
        fmt::format("{} planned test(s) did not run (consumer timeout or a failed batch)", not_run));
  }
  const bool idle_shard = executed == 0 && given_nothing;
  if (idle_shard) {
    result.reasons.push_back(
        fmt::format("shard {}: the split gave it none of the {} test(s) collected (more shards "
                    "than tests); the other shards ran them",
                    result.shard, collected));
  } else if (executed == 0) {
    result.reasons.push_back("no test executed: a run that tests nothing never passes");
  }
  if (blocked || over_limit || missing_blocks || not_run > 0 || (executed == 0 && !idle_shard) || batch_failed) {
    result.status = not_run > 0 && Clock::now() >= candidate.deadline() ? report::ConsumerStatus::timed_out
                                                                        : report::ConsumerStatus::failed;
  } else {
    result.status = report::ConsumerStatus::passed;
  }
  if (!result.passed() && (result.baseline.status == "invalid" || result.baseline.status == "unavailable") &&
      (!compare.failing.empty() || !compare.flaky.empty())) {
    result.reasons.push_back(fmt::format("baseline not used ({}): {}; no failure was excused", result.baseline.status,
                                         result.baseline.reason));
  }
  record_history(consumer, context, result);
}

}  // namespace

Judgement judge(int exit_code, bool junit_configured, const std::vector<report::TestCase>& tests) {
  Judgement j{report::ConsumerStatus::passed, {}};
  size_t executed = 0;
  for (const auto& test : tests) {
    if (test.status == report::TestStatus::skipped) continue;
    ++executed;
    if (test.blocking()) {
      std::string message = test.message.empty() ? std::string(report::test_status_name(test.status)) : test.message;
      j.reasons.push_back(fmt::format("test {} {}: {}", core::terminal_line(test.id()),
                                      test.status == report::TestStatus::failed ? "failed" : "errored",
                                      core::terminal_line(shorten(message, 200))));
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
  // Said whatever happens next: the fan-in compares the shards' pins.
  if (auto pin = context.pinned_timings.find(consumer.name); pin != context.pinned_timings.end()) {
    result.timings = pin->second.digest;
  }
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
        if (!consumer.knows_tests() && !consumer.junit) {
          run_command_consumer(consumer, candidate, result);
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
