#include "suite/consumer_run.h"
#include "suite/runner.h"

#include <gtest/gtest.h>

using gate::report::ConsumerStatus;
using gate::report::TestCase;
using gate::report::TestStatus;
using gate::suite::judge;

namespace {
TestCase test(const char* name, TestStatus status, const char* message = "") {
  return TestCase{"tests.mod", name, status, 0.1, message, ""};
}
}  // namespace

TEST(Judge, PassesOnlyWithExitZeroAndNoFailedTest) {
  EXPECT_EQ(judge(0, true, {test("a", TestStatus::passed)}).status, ConsumerStatus::passed);
  EXPECT_EQ(judge(0, false, {}).status, ConsumerStatus::passed);
}

TEST(Judge, FailedTestIsNamedWithItsMessage) {
  auto j = judge(1, true, {test("a", TestStatus::passed), test("b", TestStatus::failed, "expected 201\nmore")});
  EXPECT_EQ(j.status, ConsumerStatus::failed);
  ASSERT_EQ(j.reasons.size(), 1u);
  EXPECT_EQ(j.reasons[0], "test tests.mod::b failed: expected 201");
}

TEST(Judge, FailedTestBlocksEvenWhenTheRunExitedZero) {
  EXPECT_EQ(judge(0, true, {test("b", TestStatus::error, "boom")}).status, ConsumerStatus::failed);
}

TEST(Judge, NonZeroExitBlocksEvenWhenJUnitIsGreen) {
  auto j = judge(2, true, {test("a", TestStatus::passed)});
  EXPECT_EQ(j.status, ConsumerStatus::failed);
  EXPECT_NE(j.reasons.at(0).find("exited 2"), std::string::npos);
}

TEST(Judge, NoExecutedTestNeverPasses) {
  EXPECT_EQ(judge(0, true, {}).status, ConsumerStatus::failed);
  EXPECT_EQ(judge(0, true, {test("s", TestStatus::skipped)}).status, ConsumerStatus::failed);
}

namespace {
gate::process::Result ended(int exit_code, int signal = 0) {
  gate::process::Result r;
  r.exit_code = exit_code;
  r.signal = signal;
  return r;
}
}  // namespace

// A batch whose every test finished is red when its process ended other
// than the tool ends after those results (ctest exits 8 when a test failed).
TEST(ExitContradiction, OnlyZeroOrTheToolsFailureExitWithAFailureAgree) {
  using gate::suite::exit_contradiction;
  const std::vector<TestCase> passed{test("a", TestStatus::passed), test("b", TestStatus::skipped)};
  const std::vector<TestCase> one_failed{test("a", TestStatus::passed), test("b", TestStatus::error)};
  EXPECT_EQ(exit_contradiction("pytest", ended(0), passed, 1), "");
  EXPECT_EQ(exit_contradiction("pytest", ended(1), one_failed, 1), "");
  EXPECT_EQ(exit_contradiction("ctest", ended(8), one_failed, 8), "");
  // (Failures the tool's exit hid: the tests already block.)
  EXPECT_EQ(exit_contradiction("pytest", ended(0), one_failed, 1), "");

  EXPECT_NE(exit_contradiction("pytest", ended(1), passed, 1), "");      // a plugin failed the session
  EXPECT_NE(exit_contradiction("pytest", ended(3), one_failed, 1), "");  // pytest's internal error
  EXPECT_NE(exit_contradiction("ctest", ended(1), one_failed, 8), "");
  EXPECT_NE(exit_contradiction("ctest", ended(8), passed, 8), "");
  const std::string why = exit_contradiction("pytest", ended(-1, 6), passed, 1);
  EXPECT_NE(why.find("pytest killed by signal 6"), std::string::npos) << why;
  EXPECT_NE(why.find("after every test of the batch had finished"), std::string::npos) << why;
}

TEST(ExitContradiction, TimedOutOrInterruptedIsSaidElsewhere) {
  using gate::suite::exit_contradiction;
  const std::vector<TestCase> passed{test("a", TestStatus::passed)};
  for (auto flag : {&gate::process::Result::timed_out, &gate::process::Result::interrupted}) {
    gate::process::Result r = ended(-1, 15);
    r.*flag = true;
    EXPECT_EQ(exit_contradiction("pytest", r, passed, 1), "");
  }
}

// Stopped by the per-test watchdog after its last test: it would not have ended.
TEST(ExitContradiction, StoppedAfterItsLastTestIsRed) {
  gate::process::Result r = ended(-1, 15);
  r.stopped = true;
  const std::string why = gate::suite::exit_contradiction("pytest", r, {test("a", TestStatus::passed)}, 1);
  EXPECT_NE(why.find("had not ended a test_timeout after its last test finished"), std::string::npos) << why;
}
