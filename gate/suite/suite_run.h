#pragma once
// The suite engine for runners that know single tests: on the candidate,
// collect, take this shard's duration-balanced share, run it on parallel
// workers, retry failures and confirm the tests that failed and then passed;
// on the baseline, rerun exactly those tests the same way. Deciding what
// the runs mean is suite/evidence.h's; binding them to an image is
// suite/image_run.h's.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "report/model.h"
#include "suite/evidence.h"
#include "suite/run_context.h"
#include "suite/runner.h"
#include "suite/shard_plan.h"
#include "suite/test_table.h"

namespace gate::suite {

// The runs of a set of tests on one image.
struct TestRuns {
  TestTable by_test;  // the first failure's result, or the pass
  // Failed in one run and passed in another: on a retry, or in a repeat
  // (runs_per_test) after passing.
  std::set<std::string> flaked;
  std::map<std::string, RunCount> confirm;  // confirmation reruns of the flaked tests
  std::map<std::string, RunCount> counts;   // every completed run of each test (on the candidate: its reruns)
  std::vector<std::string> errors;          // batches that failed as a whole
  size_t executions = 0;                    // test executions, first pass included
};

struct CandidateSuite {
  std::vector<std::string> collected;  // collection order
  size_t planned = 0;                  // this shard's share
  std::string shard;                   // "K/N" or ""
  // sha256 of which test went to which shard (split_digest): every shard of
  // one run must have computed the same split, or some test ran in none.
  std::string split;
  TestRuns runs;
  nlohmann::json profile = nlohmann::json::object();
};

// The recorded durations of the tests collected (called once, after collecting).
using PricesOf = std::function<Prices(const std::vector<std::string>& collected)>;

// Throws InfraError when the tests cannot be collected, Interrupted on Ctrl-C.
CandidateSuite run_candidate_suite(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                                   const RunContext& context, const PricesOf& prices_of);

// What the candidate's runs leave to compare.
struct ToCompare {
  std::vector<std::string> failing;  // failed after their retries
  std::vector<std::string> flaky;    // failed, then passed
  // Something blocks whatever the comparison finds (a timed-out test, a
  // failed batch): gate spends no reruns looking for flakiness behind
  // failures; they stay regressions and newly-flaky.
  bool blocked_anyway = false;
  // Whether one regression, one newly-flaky test blocks by itself (the
  // policy): then the reruns stop at the first such test they confirm.
  bool regression_blocks = true;
  bool newly_flaky_blocks = true;
};

// Reruns `compare.failing` (with the consumer's retries) against the image
// `env` is bound to, then looks for a failure there (rerunning each test
// until it fails) of the tests that failed on the candidate every time but
// passed here (up to kMaxRescues, kRescueReruns times each), and of those
// that flaked on the candidate (baseline_reruns times each). Tests that do
// not complete (timed out, not run, a failed batch) are left out of
// on_baseline: they are not evidence.
struct BaselineSuite {
  std::map<std::string, report::TestStatus> on_baseline;  // after its retries
  std::map<std::string, RunCount> counts;                 // every completed run here
  std::vector<std::string> errors;
  std::vector<std::string> incomplete;  // asked for, no completed result
  // A test sure to block was found (all its reruns here passed, and the
  // policy blocks it), or something else blocks anyway.
  bool decided = false;
  // With rerun_when_blocked: false the reruns stop there: these were not
  // (or not fully) looked at.
  std::vector<std::string> unexamined;
  size_t executions = 0;
};
BaselineSuite run_baseline_suite(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                                 const ToCompare& compare);

// How `seek` reruns tests: each until it shows a failure (want_failure) or
// a pass, `rounds` times at most, `window` tests at a time (each round is
// one batch of them). With stop_at_exhausted the search ends at the first
// test that used up its rounds without showing it (it alone blocks: what
// the others would show cannot change the verdict).
struct SeekPlan {
  bool want_failure = true;
  int rounds = 0;
  size_t window = 1;
  bool stop_at_exhausted = false;
  std::string label;
};
struct Sought {
  std::set<std::string> found;
  std::vector<std::string> exhausted;   // all their rounds, nothing shown
  std::vector<std::string> unexamined;  // not (or not fully) rerun: the search stopped
};
Sought seek(const config::Consumer& consumer, Runner& runner, const RunEnv& env, const std::vector<std::string>& tests,
            const SeekPlan& plan, TestRuns& runs);

// Beyond this many tests that fail on the candidate and pass on the
// baseline, gate does not look for flakiness behind them: the verdict
// blocks whatever they are.
inline constexpr size_t kMaxRescues = 10;
// The most reruns that look for flakiness behind such a test, on each image
// (a test that fails 26% of the time shows no failure in 5 runs 22% of the
// time, in 15 runs 1%: bench/soundness met the first).
inline constexpr int kRescueReruns = 15;

}  // namespace gate::suite
