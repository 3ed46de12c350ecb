// Every outcome that lets a failure through needs evidence gate observed.
#include "suite/evidence.h"

#include <gtest/gtest.h>

#include "config/config.h"
#include "core/error.h"
#include "suite/timings.h"

using gate::report::TestCase;
using gate::report::TestStatus;
using namespace gate::suite;

namespace {
TestCase test(const char* name, TestStatus status, bool timed_out = false) {
  TestCase t{"", name, status, 0.1, "", ""};
  t.timed_out = timed_out;
  return t;
}
}  // namespace

TEST(Evidence, PlainOutcomesNeedNoBaseline) {
  Evidence none;
  EXPECT_EQ(gate::outcome_name(classify(test("a", TestStatus::passed), false, none)), "passed");
  EXPECT_EQ(gate::outcome_name(classify(test("a", TestStatus::failed), false, none)), "regression");
  EXPECT_EQ(gate::outcome_name(classify(test("a", TestStatus::error), false, none)), "error");
  EXPECT_EQ(gate::outcome_name(classify(test("a", TestStatus::error, true), false, none)), "timed-out");
  EXPECT_EQ(gate::outcome_name(classify(test("a", TestStatus::skipped), false, none)), "skipped");
}

TEST(Evidence, PreExistingOnlyWhenTheValidBaselineFailedTheSameTest) {
  Evidence used;
  used.baseline = "used";
  used.on_baseline = {{"a", TestStatus::failed}, {"b", TestStatus::passed}, {"e", TestStatus::error}};
  EXPECT_EQ(gate::outcome_name(classify(test("a", TestStatus::failed), false, used)), "pre-existing");
  EXPECT_EQ(gate::outcome_name(classify(test("b", TestStatus::failed), false, used)), "regression");
  EXPECT_EQ(gate::outcome_name(classify(test("e", TestStatus::error), false, used)), "pre-existing");
  EXPECT_EQ(gate::outcome_name(classify(test("e", TestStatus::failed), false, used)), "regression")
      << "an error there is not this failure";
  EXPECT_EQ(gate::outcome_name(classify(test("a", TestStatus::error), false, used)), "error")
      << "a failure there is not this error";
  EXPECT_EQ(gate::outcome_name(classify(test("c", TestStatus::failed), false, used)), "regression")
      << "not rerun there: no evidence";
  // The same observations from a baseline that cannot be trusted excuse nothing.
  for (const char* status : {"invalid", "unavailable", "off", "not-needed"}) {
    Evidence e = used;
    e.baseline = status;
    EXPECT_EQ(gate::outcome_name(classify(test("a", TestStatus::failed), false, e)), "regression") << status;
  }
}

TEST(Evidence, TheCandidateThatIsThePublishedImageFailsByIdentity) {
  Evidence same;
  same.baseline = "identical";
  EXPECT_EQ(gate::outcome_name(classify(test("a", TestStatus::failed), false, same)), "pre-existing");
  EXPECT_EQ(gate::outcome_name(classify(test("a", TestStatus::passed), true, same)), "flaky");
}

TEST(Evidence, FailThenPassIsNewlyFlakyUnlessTheBaselineOrHistoryShowsItFlaky) {
  Evidence used;
  used.baseline = "used";
  used.baseline_counts = {{"shaky", {3, 1}}, {"steady", {3, 0}}};
  EXPECT_EQ(gate::outcome_name(classify(test("shaky", TestStatus::passed), true, used)), "flaky");
  EXPECT_EQ(gate::outcome_name(classify(test("steady", TestStatus::passed), true, used)), "newly-flaky");
  EXPECT_EQ(gate::outcome_name(classify(test("unconfirmed", TestStatus::passed), true, used)), "newly-flaky");
  TimingStore history;
  history.tests["steady"].flaky_on_published = 2;
  used.history = &history;
  EXPECT_EQ(gate::outcome_name(classify(test("steady", TestStatus::passed), true, used)), "flaky")
      << "known flaky on a published image";
  Evidence invalid = used;
  invalid.baseline = "invalid";
  invalid.history = nullptr;
  EXPECT_EQ(gate::outcome_name(classify(test("shaky", TestStatus::passed), true, invalid)), "newly-flaky");
}

TEST(Evidence, AFailureOnEveryCandidateRunIsFlakyOnlyWhenRescued) {
  Evidence used;
  used.baseline = "used";
  used.on_baseline = {{"x", TestStatus::passed}};
  used.baseline_counts = {{"x", {4, 1}}};
  EXPECT_EQ(gate::outcome_name(classify(test("x", TestStatus::failed), false, used)), "regression")
      << "failed every time on the candidate";
  used.rescued = {"x"};
  EXPECT_EQ(gate::outcome_name(classify(test("x", TestStatus::failed), false, used)), "flaky")
      << "flaky on both, passed when rerun";
  Evidence invalid = used;
  invalid.baseline = "invalid";
  EXPECT_EQ(gate::outcome_name(classify(test("x", TestStatus::failed), false, invalid)), "regression");
}

TEST(Evidence, MaxPreExistingLimit) {
  gate::config::Limit percent{10, true};
  EXPECT_FALSE(percent.exceeded(10, 100));
  EXPECT_FALSE(percent.exceeded(1, 7)) << "a share rounds up";
  EXPECT_TRUE(percent.exceeded(2, 7));
  EXPECT_TRUE(percent.exceeded(11, 100));
  EXPECT_TRUE(percent.exceeded(343, 541));
  gate::config::Limit count{3, false};
  EXPECT_FALSE(count.exceeded(3, 1000));
  EXPECT_TRUE(count.exceeded(4, 1000));
  EXPECT_EQ(percent.text(), "10%");
  EXPECT_EQ(count.text(), "3");
}

TEST(Evidence, MaxPreExistingFromConfig) {
  auto config = gate::config::parse_config(R"(version: 1
image: {repository: 127.0.0.1:5000/a/b}
max_pre_existing: 5%
consumers:
  - {name: a, repo: /r, runner: pytest, max_pre_existing: 2}
  - {name: b, repo: /r, runner: pytest}
)",
                                           "gate.yaml");
  EXPECT_EQ(gate::config::max_pre_existing(config, config.consumers[0]).text(), "2");
  EXPECT_EQ(gate::config::max_pre_existing(config, config.consumers[1]).text(), "5%");
  EXPECT_EQ(gate::config::parse_config(
                "version: 1\nimage: {repository: 127.0.0.1:5000/a/b}\nconsumers: [{name: a, repo: /r, run: 'true'}]\n",
                "g.yaml")
                .max_pre_existing.text(),
            "10%");
  EXPECT_THROW(
      gate::config::parse_config("version: 1\nimage: {repository: 127.0.0.1:5000/a/b}\nmax_pre_existing: lots\n"
                                 "consumers: [{name: a, repo: /r, run: 'true'}]\n",
                                 "g.yaml"),
      gate::UsageError);
}

TEST(Evidence, JoinedShardsTakeEachTestsWorstOutcomeAndTheWholeLimit) {
  auto config = gate::config::parse_config(
      "version: 1\nimage: {repository: 127.0.0.1:5000/a/b}\nconsumers: [{name: a, repo: /r, runner: pytest}]\n",
      "g.yaml");
  gate::report::ConsumerResult whole;
  whole.status = gate::report::ConsumerStatus::passed;
  whole.tests_planned = 20;
  auto with = [](const char* name, const char* outcome, bool blocks) {
    TestCase t = test(name, blocks || std::string(outcome) == "pre-existing" ? TestStatus::failed : TestStatus::passed);
    t.outcome = *gate::outcome_from_name(outcome);
    t.blocks = blocks;
    return t;
  };
  whole.tests = {with("x", "pre-existing", false), with("y", "passed", false), with("x", "regression", true),
                 with("p1", "pre-existing", false), with("p2", "pre-existing", false)};
  gate::suite::judge_joined_shards(config, config.consumers[0], whole);
  ASSERT_EQ(whole.tests.size(), 4u) << "one result per test";
  EXPECT_EQ(gate::outcome_name(whole.tests[0].outcome), "regression")
      << "pre-existing in one shard, a regression in another";
  EXPECT_EQ(whole.status, gate::report::ConsumerStatus::passed) << "2 of 20 is within 10%";
  whole.tests_planned = 10;  // 2 of 10 is over (10% of 10 allows 1)
  gate::suite::judge_joined_shards(config, config.consumers[0], whole);
  EXPECT_EQ(whole.status, gate::report::ConsumerStatus::failed);
  ASSERT_FALSE(whole.reasons.empty());
  EXPECT_NE(whole.reasons.back().find("2 pre-existing failure(s), 20.0% of the 10 selected"), std::string::npos);

  gate::report::BaselineReport joined;
  gate::report::BaselineReport used, invalid;
  used.status = "used";
  invalid.status = "invalid";
  invalid.reason = "its setup failed";
  gate::suite::join_baseline(joined, used, "1/2");
  gate::suite::join_baseline(joined, invalid, "2/2");
  EXPECT_EQ(joined.status, "invalid");
  EXPECT_EQ(joined.reason, "[shard 2/2] its setup failed");
}
