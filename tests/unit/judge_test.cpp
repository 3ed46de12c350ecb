#include "suite/consumer_run.h"

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
