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
  std::set<std::string> passed_on_retry;
  std::map<std::string, RunCount> confirm;  // confirmation reruns of passed_on_retry
  std::map<std::string, RunCount> counts;   // every completed run of each test (on the candidate: its reruns)
  std::vector<std::string> errors;          // batches that failed as a whole
  size_t executions = 0;                    // test executions, first pass included
};

struct CandidateSuite {
  std::vector<std::string> collected;  // collection order
  size_t planned = 0;                  // this shard's share
  std::string shard;                   // "K/N" or ""
  TestRuns runs;
  nlohmann::json profile = nlohmann::json::object();
};

// The recorded durations of the tests collected (called once, after collecting).
using PricesOf = std::function<Prices(const std::vector<std::string>& collected)>;

// Throws InfraError when the tests cannot be collected, Interrupted on Ctrl-C.
CandidateSuite run_candidate_suite(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                                   const RunContext& context, const PricesOf& prices_of);

// Reruns `failing` (with the consumer's retries) against the image `env` is
// bound to, then looks for a failure there (rerunning each test until it
// fails, baseline_reruns times at most) of the tests that flaked on the
// candidate and of those that failed there every time but passed here.
// Tests that do not complete (timed out, not run, a failed batch) are left
// out of on_baseline: they are not evidence.
struct BaselineSuite {
  std::map<std::string, report::TestStatus> on_baseline;  // after its retries
  std::map<std::string, RunCount> counts;                 // every completed run here
  std::vector<std::string> errors;
  std::vector<std::string> incomplete;  // asked for, no completed result
  size_t executions = 0;
};
// `rescue_regressions` false: the tests that failed on the candidate every
// time are not looked at for flakiness here (they stay regressions).
BaselineSuite run_baseline_suite(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                                 const std::vector<std::string>& failing, const std::vector<std::string>& flaky,
                                 bool rescue_regressions);

// Reruns `tests` at most `rounds` rounds, each until it shows a failure
// (want_failure) or a pass; returns those that did.
std::set<std::string> seek(const config::Consumer& consumer, Runner& runner, const RunEnv& env,
                           const std::vector<std::string>& tests, bool want_failure, int rounds,
                           const std::string& label, TestRuns& runs);

// Beyond this many tests that fail on the candidate and pass on the
// baseline, gate does not look for flakiness behind them: the verdict
// blocks whatever they are.
inline constexpr size_t kMaxRescues = 10;
// The most reruns that look for flakiness behind such a test, on each image
// (a test that fails 26% of the time shows no failure in 5 runs 22% of the
// time, in 15 runs 1%: bench/soundness met the first).
inline constexpr int kRescueReruns = 15;

}  // namespace gate::suite
