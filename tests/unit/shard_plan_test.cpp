#include "suite/shard_plan.h"

#include <gtest/gtest.h>

#include <numeric>

using namespace gate::suite;

namespace {
std::vector<std::string> names(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back("t::" + std::to_string(i));
  return out;
}
}  // namespace

TEST(ShardPlan, UnknownTestsArePricedAtTheMeanOfKnownOnes) {
  const std::map<std::string, double> known{{"a", 1.0}, {"b", 3.0}};
  auto items = make_items({"a", "b", "c"}, prices_in(known, {"a", "b", "c"}), {});
  ASSERT_EQ(items.size(), 3u);
  EXPECT_DOUBLE_EQ(items[2].estimate, 2.0);
  EXPECT_DOUBLE_EQ(make_items({"x"}, {}, {})[0].estimate, 1.0);
}

TEST(ShardPlan, ATestNeverSeenIsPricedAsItsFileThenAsTheConsumer) {
  const std::vector<std::string> tests{"t/slow.py::a", "t/slow.py::new", "t/fast.py::b", "t/fast.py::new",
                                       "t/other.py::new"};
  const std::map<std::string, double> known{{"t/slow.py::a", 9.0}, {"t/fast.py::b", 1.0}};
  auto items = make_items(tests, prices_in(known, tests), {});
  ASSERT_EQ(items.size(), 5u);
  EXPECT_DOUBLE_EQ(items[1].estimate, 9.0);  // as t/slow.py's
  EXPECT_DOUBLE_EQ(items[3].estimate, 1.0);  // as t/fast.py's
  EXPECT_DOUBLE_EQ(items[4].estimate, 5.0);  // no file history: the consumer's mean
  for (const auto& item : items) EXPECT_FALSE(item.guessed);
  auto cold = make_items(tests, {}, {});
  EXPECT_TRUE(cold[0].guessed);
  EXPECT_DOUBLE_EQ(cold[0].estimate, kGuessedPrice);
}

TEST(ShardPlan, SerialGroupsAreOneItemInCollectionOrder) {
  auto items = make_items({"t/a.py::x", "t/home.py::1", "t/b.py::y", "t/home.py::2"}, {}, {"t/home.py::*"});
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].tests.to_vector(), (std::vector<uint32_t>{1, 3}));  // positions of t/home.py::1 and ::2
  EXPECT_DOUBLE_EQ(items[1].estimate, 2.0);
}

TEST(ShardPlan, LongestFirstOntoTheLightestKeepsCollectionOrderAndCoversAll) {
  std::map<std::string, double> durations;
  auto tests = names(40);
  for (size_t i = 0; i < tests.size(); ++i) durations[tests[i]] = 0.1 + static_cast<double>((i * 7) % 13);
  auto bins = balance(make_items(tests, prices_in(durations, tests), {}), 3);
  ASSERT_EQ(bins.size(), 3u);
  size_t count = 0;
  double largest = 0, total = 0;
  for (const auto& bin : bins) {
    count += bin.size();
    for (size_t i = 1; i < bin.size(); ++i) EXPECT_LT(bin[i - 1].first_index(), bin[i].first_index());
    largest = std::max(largest, total_estimate(bin));
    total += total_estimate(bin);
  }
  EXPECT_EQ(count, 40u);
  EXPECT_LE(largest / (total / 3), 1.05);
}

TEST(ShardPlan, DeterministicWithTiesToTheLowerBin) {
  auto items = make_items(names(10), {}, {});
  auto first = balance(items, 4);
  auto second = balance(items, 4);
  for (size_t b = 0; b < 4; ++b) {
    ASSERT_EQ(first[b].size(), second[b].size());
    for (size_t i = 0; i < first[b].size(); ++i)
      EXPECT_EQ(first[b][i].tests.to_vector(), second[b][i].tests.to_vector());
  }
  EXPECT_EQ(first[0].front().tests.front(), 0u);  // t::0
}

TEST(ShardPlan, TheSplitDigestIsTheSameOnlyForTheSameSplit) {
  auto tests = names(12);
  auto by_count = split_digest(balance(make_items(tests, {}, {}), 3), tests);
  EXPECT_EQ(by_count, split_digest(balance(make_items(tests, {}, {}), 3), tests));  // another shard, same inputs
  // Priced from a store in which t::0, t::3 and t::6 are slow: another split.
  std::map<std::string, double> durations;
  for (size_t i = 0; i < tests.size(); ++i) durations[tests[i]] = (i == 0 || i == 3 || i == 6) ? 0.6 : 0.03;
  auto by_store = split_digest(balance(make_items(tests, prices_in(durations, tests), {}), 3), tests);
  EXPECT_NE(by_count, by_store);
  // One more test collected: another split, though the first 12 sit as before.
  auto more = names(13);
  EXPECT_NE(by_count, split_digest(balance(make_items(more, {}, {}), 3), more));
  EXPECT_EQ(by_count.rfind("sha256:", 0), 0u);
}
