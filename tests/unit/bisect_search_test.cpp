// The search of gate bisect: binary search over the commits, and the rules
// that keep a flaky test from pointing at the wrong one.
#include "pipeline/bisect_search.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace gate::pipeline;

namespace {

// Commits 0..count-1; `broken` fails every run from `culprit` on; `flaky`
// fails each run with probability `rate`.
struct History {
  size_t culprit;
  double rate = 0.5;
  int repeat = 3;
  std::mt19937 random{7};
  std::vector<size_t> probed;

  ProbeRuns operator()(size_t commit) {
    probed.push_back(commit);
    ProbeRuns runs;
    runs["c: broken"] = {repeat, commit >= culprit ? repeat : 0};
    std::bernoulli_distribution fails(rate);
    TestRuns flaky{repeat, 0};
    for (int i = 0; i < repeat; ++i) flaky.failures += fails(random);
    runs["c: flaky"] = flaky;
    return runs;
  }
};

}  // namespace

TEST(BisectSearch, FindsEveryCulpritWithinLog2Probes) {
  for (size_t count : {1u, 2u, 7u, 8u, 33u}) {
    for (size_t culprit = 0; culprit < count; ++culprit) {
      History history{culprit, 0.0};
      auto found = find_first_bad(count, {"c: broken"}, std::ref(history));
      EXPECT_EQ(found.first_bad, culprit) << count;
      EXPECT_LE(found.probed.size(), static_cast<size_t>(std::ceil(std::log2(count)))) << count;
      EXPECT_TRUE(found.suspects_left);
    }
  }
}

TEST(BisectSearch, ATestThatFailsSomeRunsIsDroppedAndCannotMislead) {
  // The flaky test is a suspect too (as if it had failed every run at both
  // ends): whenever it shows a mixed result it is dropped; it misleads only
  // when it fails all 3 runs of a probe before the culprit, 1 in 8.
  int right = 0;
  for (int round = 0; round < 200; ++round) {
    History history{5, 0.5};
    history.random.seed(round);
    auto found = find_first_bad(8, {"c: broken", "c: flaky"}, std::ref(history));
    right += found.first_bad == 5;
  }
  EXPECT_GT(right, 150);  // the rate without the ends' confirmation
  // Mixed results drop it at once.
  std::set<std::string> suspects{"c: broken", "c: flaky"};
  auto judged = judge_probe({{"c: broken", {3, 0}}, {"c: flaky", {3, 1}}}, suspects);
  EXPECT_FALSE(judged.bad);
  EXPECT_EQ(judged.flaky, std::vector<std::string>{"c: flaky"});
  EXPECT_EQ(suspects, std::set<std::string>{"c: broken"});
}

TEST(BisectSearch, ATestMissingFromAProbeCountsAsFailing) {
  std::set<std::string> suspects{"c: broken"};
  auto judged = judge_probe({}, suspects);
  EXPECT_TRUE(judged.bad);
  EXPECT_EQ(judged.broken, std::vector<std::string>{"c: broken"});
}

TEST(BisectSearch, EverySuspectFlakyEndsTheSearchWithoutACulprit) {
  auto found = find_first_bad(8, {"c: flaky"}, [](size_t) { return ProbeRuns{{"c: flaky", {3, 2}}}; });
  EXPECT_FALSE(found.suspects_left);
  EXPECT_EQ(found.flaky, std::vector<std::string>{"c: flaky"});
}

TEST(BisectSearch, NamesTheTestsBrokenAtTheCulprit) {
  // Two tests broken by different commits: the first bad commit is the
  // earlier one, and it names the test broken there only.
  auto probe = [](size_t commit) {
    return ProbeRuns{{"c: a", {3, commit >= 2 ? 3 : 0}}, {"c: b", {3, commit >= 6 ? 3 : 0}}};
  };
  auto found = find_first_bad(8, {"c: a", "c: b"}, probe);
  EXPECT_EQ(found.first_bad, 2u);
  EXPECT_EQ(found.broken, std::vector<std::string>{"c: a"});
}
