// The fan-in's refusals, without files, docker or a registry: every way the
// shards' verdicts can fail to make a whole is an infrastructure error that
// names the shard, and a whole made of good shards is judged as one.
#include "pipeline/shard_join.h"

#include <gtest/gtest.h>

#include "core/error.h"

using gate::pipeline::join_shards;
using gate::pipeline::ShardReport;
using gate::report::ConsumerResult;
using gate::report::ConsumerStatus;
using gate::report::TestCase;
using gate::report::TestStatus;
using gate::report::Verdict;

namespace {

using gate::config::RunnerKind;

gate::config::Config config_of(std::vector<std::pair<std::string, RunnerKind>> consumers) {
  gate::config::Config config;
  for (auto& [name, runner] : consumers) {
    gate::config::Consumer c;
    c.name = name;
    c.runner = runner;
    config.consumers.push_back(c);
  }
  return config;
}

ConsumerResult part(const std::string& name, const std::string& shard, std::vector<TestCase> tests,
                    const std::string& commit = "c0ffee") {
  ConsumerResult c;
  c.name = name;
  c.shard = shard;
  c.commit = commit;
  c.status = ConsumerStatus::passed;
  c.tests = std::move(tests);
  return c;
}

TestCase passed(const std::string& id) { return TestCase{"", id, TestStatus::passed, 0.1, "", ""}; }

ShardReport shard(const std::string& dir, std::vector<ConsumerResult> consumers,
                  const std::string& digest = "sha256:aaaa") {
  ShardReport report;
  report.dir = dir;
  report.verdict.candidate = {"127.0.0.1:5000/acme/emu", "pr-1", digest};
  report.verdict.consumers = std::move(consumers);
  return report;
}

// The message of the InfraError join_shards throws; "" when it joins.
std::string refusal(const gate::config::Config& config, const std::vector<ShardReport>& shards) {
  Verdict merged;
  try {
    join_shards(config, shards, merged);
  } catch (const gate::InfraError& e) {
    EXPECT_EQ(e.code(), gate::ExitCode::infrastructure);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ShardJoin, GoodShardsMakeOneConsumerWithEveryTest) {
  auto config = config_of({{"app", RunnerKind::pytest}});
  Verdict merged;
  join_shards(
      config,
      {shard("s1", {part("app", "1/2", {passed("a"), passed("b")})}), shard("s2", {part("app", "2/2", {passed("c")})})},
      merged);
  ASSERT_EQ(merged.consumers.size(), 1u);
  EXPECT_EQ(merged.consumers[0].tests.size(), 3u);
  EXPECT_EQ(merged.consumers[0].shard, "2 shards");
  EXPECT_EQ(merged.consumers[0].status, ConsumerStatus::passed);
  EXPECT_EQ(merged.candidate.digest, "sha256:aaaa");
}

TEST(ShardJoin, AFailedShardFailsTheWhole) {
  auto config = config_of({{"app", RunnerKind::pytest}});
  auto bad = part("app", "2/2", {TestCase{"", "c", TestStatus::failed, 0.1, "boom", ""}});
  bad.status = ConsumerStatus::failed;
  Verdict merged;
  join_shards(config, {shard("s1", {part("app", "1/2", {passed("a")})}), shard("s2", {bad})}, merged);
  EXPECT_EQ(merged.consumers.at(0).status, ConsumerStatus::failed);
}

TEST(ShardJoin, RefusesAMissingShard) {
  auto config = config_of({{"app", RunnerKind::pytest}});
  auto why = refusal(
      config, {shard("s1", {part("app", "1/3", {passed("a")})}), shard("s3", {part("app", "3/3", {passed("c")})})});
  EXPECT_NE(why.find("shard 2/3 of consumer 'app' is missing"), std::string::npos) << why;
}

TEST(ShardJoin, RefusesADuplicatedShard) {
  auto config = config_of({{"app", RunnerKind::pytest}});
  auto why = refusal(
      config, {shard("s1", {part("app", "1/2", {passed("a")})}), shard("again", {part("app", "1/2", {passed("a")})}),
               shard("s2", {part("app", "2/2", {passed("b")})})});
  EXPECT_NE(why.find("shard 1/2 of consumer 'app' appears twice (again in again)"), std::string::npos) << why;
}

TEST(ShardJoin, RefusesShardsOfDifferentDigests) {
  auto config = config_of({{"app", RunnerKind::pytest}});
  auto why = refusal(config, {shard("s1", {part("app", "1/2", {passed("a")})}),
                              shard("s2", {part("app", "2/2", {passed("b")})}, "sha256:bbbb")});
  EXPECT_NE(why.find("shards tested different digests: sha256:aaaa in s1, sha256:bbbb in s2"), std::string::npos)
      << why;
}

TEST(ShardJoin, RefusesAShardThatTestedNoCandidate) {
  auto config = config_of({{"app", RunnerKind::pytest}});
  auto broken = shard("s1", {part("app", "1/1", {passed("a")})}, "");
  broken.verdict.error = "registry unreachable";
  auto why = refusal(config, {broken});
  EXPECT_NE(why.find("the shard in s1 tested no candidate (registry unreachable)"), std::string::npos) << why;
}

TEST(ShardJoin, RefusesShardsOfDifferentCommits) {
  auto config = config_of({{"app", RunnerKind::pytest}});
  auto why = refusal(config, {shard("s1", {part("app", "1/2", {passed("a")}, "aaa111")}),
                              shard("s2", {part("app", "2/2", {passed("b")}, "bbb222")})});
  EXPECT_NE(why.find("tested different commits: aaa111 and bbb222 (in s2)"), std::string::npos) << why;
}

TEST(ShardJoin, RefusesShardsSplitDifferently) {
  auto config = config_of({{"app", RunnerKind::pytest}});
  auto why = refusal(
      config, {shard("s1", {part("app", "1/2", {passed("a")})}), shard("s2", {part("app", "2/3", {passed("b")})})});
  EXPECT_NE(why.find("split 2 ways in one shard and 3 in s2"), std::string::npos) << why;
}

TEST(ShardJoin, RefusesAConsumerNoShardReported) {
  auto config = config_of({{"app", RunnerKind::pytest}, {"cli", RunnerKind::command}});
  auto why = refusal(config, {shard("s1", {part("app", "1/1", {passed("a")})})});
  EXPECT_NE(why.find("no shard reported consumer 'cli'"), std::string::npos) << why;
}

TEST(ShardJoin, RefusesAShardThatRanNoTestButAcceptsACommandUnit) {
  auto config = config_of({{"app", RunnerKind::pytest}, {"cli", RunnerKind::command}});
  auto why = refusal(config, {shard("s1", {part("app", "1/2", {passed("a")}), part("cli", "", {})}),
                              shard("s2", {part("app", "2/2", {})})});
  EXPECT_NE(why.find("shard 2/2 of consumer 'app' in s2 ran no test"), std::string::npos) << why;
  // A `command` consumer is one unit: no test list, and that is whole.
  EXPECT_EQ(refusal(config, {shard("s1", {part("app", "1/1", {passed("a")}), part("cli", "", {})})}), "");
  auto not_run = part("cli", "", {});
  not_run.status = ConsumerStatus::not_run;
  why = refusal(config, {shard("s1", {part("app", "1/1", {passed("a")}), not_run})});
  EXPECT_NE(why.find("consumer 'cli' in s1 ran no test"), std::string::npos) << why;
}

TEST(ShardJoin, RefusesShardsPlannedFromDifferentTimingStores) {
  auto config = config_of({{"app", RunnerKind::pytest}});
  auto one = part("app", "1/2", {passed("a")});
  auto two = part("app", "2/2", {passed("b")});
  one.timings = two.timings = "sha256:1111";
  EXPECT_EQ(refusal(config, {shard("s1", {one}), shard("s2", {two})}), "");
  two.timings = "sha256:2222";
  auto why = refusal(config, {shard("s1", {one}), shard("s2", {two})});
  EXPECT_NE(why.find("planned from different timing stores: sha256:1111 and sha256:2222 (in s2)"), std::string::npos)
      << why;
  two.timings = "";  // one shard pinned nothing: it split without durations
  why = refusal(config, {shard("s1", {one}), shard("s2", {two})});
  EXPECT_NE(why.find("sha256:1111 and none"), std::string::npos) << why;
}

TEST(ShardJoin, RefusesShardsThatSplitTheTestsDifferently) {
  auto config = config_of({{"app", RunnerKind::pytest}});
  auto one = part("app", "1/2", {passed("a")});
  auto two = part("app", "2/2", {passed("b")});
  one.split = two.split = "sha256:1111111111111111";
  EXPECT_EQ(refusal(config, {shard("s1", {one}), shard("s2", {two})}), "");
  two.split = "sha256:2222222222222222";  // e.g. priced from another local store
  auto why = refusal(config, {shard("s1", {one}), shard("s2", {two})});
  EXPECT_NE(why.find("shards 1/2 and 2/2 of consumer 'app' split its tests differently"), std::string::npos) << why;
  EXPECT_NE(why.find("some test may have run in no shard"), std::string::npos) << why;
  // Split from other pinned stores: refused by that, the likelier cause, by name.
  one.timings = "sha256:aaaa";
  two.timings = "sha256:bbbb";
  why = refusal(config, {shard("s1", {one}), shard("s2", {two})});
  EXPECT_NE(why.find("planned from different timing stores: sha256:aaaa and sha256:bbbb"), std::string::npos) << why;
  one.timings = two.timings = "";
  // A shard that ran no test (it failed first) has no split to compare: its
  // own failure decides, not this rule.
  two.split = "";
  two.tests.clear();
  two.status = ConsumerStatus::error;
  why = refusal(config, {shard("s1", {one}), shard("s2", {two})});
  EXPECT_EQ(why.find("split its tests differently"), std::string::npos) << why;
}

// More shards than tests: the split gives a shard none. Merge takes its
// empty report only as part of a split that other shards ran tests from.
TEST(ShardJoin, AcceptsAShardTheSplitGaveNothingOnlyBesideThatSplit) {
  auto config = config_of({{"app", RunnerKind::pytest}});
  auto one = part("app", "1/3", {passed("a")});
  auto two = part("app", "2/3", {passed("b")});
  auto idle = part("app", "3/3", {});
  one.split = two.split = idle.split = "sha256:1111111111111111";
  one.tests_planned = two.tests_planned = 1;
  EXPECT_EQ(refusal(config, {shard("s3", {idle}), shard("s1", {one}), shard("s2", {two})}), "");
  // Given tests by its split, it ran none: refused.
  idle.tests_planned = 1;
  auto why = refusal(config, {shard("s1", {one}), shard("s2", {two}), shard("s3", {idle})});
  EXPECT_NE(why.find("shard 3/3 of consumer 'app' in s3 ran no test"), std::string::npos) << why;
  // Another split (or none) than the shards that ran tests: refused.
  idle.tests_planned = 0;
  idle.split = "sha256:2222222222222222";
  why = refusal(config, {shard("s1", {one}), shard("s2", {two}), shard("s3", {idle})});
  EXPECT_NE(why.find("ran no test"), std::string::npos) << why;
  idle.split = "";
  why = refusal(config, {shard("s1", {one}), shard("s2", {two}), shard("s3", {idle})});
  EXPECT_NE(why.find("ran no test"), std::string::npos) << why;
  // Every shard empty: nothing ran, whatever they agree on.
  auto a = part("app", "1/2", {});
  auto b = part("app", "2/2", {});
  a.split = b.split = "sha256:1111111111111111";
  why = refusal(config, {shard("s1", {a}), shard("s2", {b})});
  EXPECT_NE(why.find("ran no test"), std::string::npos) << why;
}
