// The suite engine's reruns through a scripted runner (no process, no
// docker): runs_per_test catches a breakage that shows in some runs only,
// and the searches for flakiness stop once a test is sure to block.
#include "suite/suite_run.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>

using namespace gate::suite;
using gate::report::TestStatus;

namespace {

// Each test fails on the runs its script names (counted from 1), or on
// every run from `always_from` on; passes otherwise.
class ScriptedRunner : public Runner {
 public:
  std::vector<std::string> tests;
  std::map<std::string, std::set<int>> fails_on;
  std::map<std::string, int> runs;
  std::mutex mutex;

  std::vector<std::string> enumerate(const RunEnv&) override { return tests; }
  BatchResult run_batch(const RunEnv&, const TestNames& batch, std::chrono::milliseconds, const std::string&) override {
    BatchResult out;
    std::lock_guard lock(mutex);
    for (auto view : batch) {
      std::string name(view);
      int run = ++runs[name];
      bool fails = fails_on[name].count(run) > 0 || fails_on[name].count(0) > 0;  // 0: every run
      out.tests.push_back({"", name, fails ? TestStatus::failed : TestStatus::passed, 0,
                           fails ? "assert broken on run " + std::to_string(run) : "", ""});
    }
    return out;
  }
};

gate::config::Consumer consumer_with(int runs_per_test) {
  gate::config::Consumer c;
  c.name = "c";
  c.runner = gate::config::RunnerKind::pytest;
  c.runs_per_test = runs_per_test;
  c.parallel = 1;
  return c;
}

RunEnv scratch_env() {
  RunEnv env;
  env.scratch = std::filesystem::temp_directory_path() / "gate-suite-run-test";
  return env;
}

// A test the candidate failed every time ("broken") and one that flaked there ("flake").
ToCompare broken_and_flake() {
  ToCompare compare;
  compare.failing = {"broken"};
  compare.flaky = {"flake"};
  return compare;
}

CandidateSuite run(const gate::config::Consumer& consumer, ScriptedRunner& runner) {
  RunEnv env;
  env.scratch = std::filesystem::temp_directory_path() / "gate-suite-run-test";
  RunContext context;
  return run_candidate_suite(consumer, runner, env, context,
                             [](const std::vector<std::string>& collected) { return Prices(collected.size(), -1); });
}

}  // namespace

TEST(RunsPerTest, AFailureInALaterRunIsAFlakeWithItsReason) {
  ScriptedRunner runner;
  runner.tests = {"steady", "intermittent"};
  runner.fails_on["intermittent"] = {4};  // passes runs 1-3, fails the 4th
  auto suite = run(consumer_with(5), runner);
  EXPECT_EQ(suite.runs.flaked, (std::set<std::string>{"intermittent"}));
  const auto* t = suite.runs.by_test.find("intermittent");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->message, "assert broken on run 4");
  // Once it failed it is not repeated further; its confirmation reruns follow.
  EXPECT_EQ(runner.runs["intermittent"], 4 + 3);
  EXPECT_EQ(runner.runs["steady"], 5);
}

TEST(RunsPerTest, OneRunSeesNothing) {
  ScriptedRunner runner;
  runner.tests = {"intermittent"};
  runner.fails_on["intermittent"] = {2};
  auto suite = run(consumer_with(1), runner);
  EXPECT_TRUE(suite.runs.flaked.empty());
  EXPECT_EQ(runner.runs["intermittent"], 1);
}

TEST(Seek, StopsAtTheFirstTestThatUsesUpItsRounds) {
  ScriptedRunner runner;
  auto consumer = consumer_with(1);
  RunEnv env;
  TestRuns runs;
  // None of them ever fails: looking for a failure, the first window uses
  // up its rounds and the others are not rerun.
  auto sought = seek(consumer, runner, env, {"a", "b", "c"}, {true, 4, 1, true, "seek"}, runs);
  EXPECT_TRUE(sought.found.empty());
  EXPECT_EQ(sought.exhausted, (std::vector<std::string>{"a"}));
  EXPECT_EQ(sought.unexamined, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(runs.executions, 4u);
}

TEST(Seek, WithoutStoppingEveryTestGetsItsRounds) {
  ScriptedRunner runner;
  runner.fails_on["b"] = {2};
  auto consumer = consumer_with(1);
  RunEnv env;
  TestRuns runs;
  auto sought = seek(consumer, runner, env, {"a", "b", "c"}, {true, 3, 2, false, "seek"}, runs);
  EXPECT_EQ(sought.found, (std::set<std::string>{"b"}));
  EXPECT_EQ(sought.exhausted, (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(sought.unexamined.empty());
  EXPECT_EQ(runner.runs["a"], 3);
  EXPECT_EQ(runner.runs["b"], 2);
  EXPECT_EQ(runner.runs["c"], 3);
}

TEST(BaselineSuite, ByDefaultEveryTestIsLookedAt) {
  // The report names every test exactly: a confirmed regression does not
  // stop the search for flakiness behind the others.
  ScriptedRunner runner;
  runner.fails_on["flake"] = {5};
  auto consumer = consumer_with(1);
  RunEnv env = scratch_env();
  ToCompare compare = broken_and_flake();
  auto suite = run_baseline_suite(consumer, runner, env, compare);
  EXPECT_TRUE(suite.decided);
  EXPECT_TRUE(suite.unexamined.empty());
  EXPECT_EQ(runner.runs["broken"], 1 + kRescueReruns);
  EXPECT_EQ(suite.counts["flake"].failures, 1);
}

TEST(BaselineSuite, AConfirmedRegressionEndsTheSearchForFlakiness) {
  // rerun_when_blocked: false. On the published image: "broken" passes every time (the candidate broke
  // it), "flake" never fails either. Once "broken" used up its rescue
  // reruns the consumer blocks, and "flake" is not rerun 30 times.
  ScriptedRunner runner;
  auto consumer = consumer_with(1);
  consumer.rerun_when_blocked = false;
  RunEnv env = scratch_env();
  ToCompare compare = broken_and_flake();
  auto suite = run_baseline_suite(consumer, runner, env, compare);
  EXPECT_TRUE(suite.decided);
  EXPECT_EQ(suite.unexamined, (std::vector<std::string>{"flake"}));
  EXPECT_EQ(runner.runs["broken"], 1 + kRescueReruns);
  EXPECT_EQ(runner.runs.count("flake"), 0u);
}

TEST(BaselineSuite, WhenARegressionDoesNotBlockTheFlakesAreStillSought) {
  ScriptedRunner runner;
  runner.fails_on["flake"] = {3};
  auto consumer = consumer_with(1);
  consumer.rerun_when_blocked = false;
  RunEnv env = scratch_env();
  ToCompare compare = broken_and_flake();
  compare.regression_blocks = false;  // policy: {regression: warn}
  auto suite = run_baseline_suite(consumer, runner, env, compare);
  EXPECT_FALSE(suite.decided);
  EXPECT_TRUE(suite.unexamined.empty());
  EXPECT_EQ(runner.runs["flake"], 3);
  EXPECT_EQ(suite.counts["flake"].failures, 1);
}
