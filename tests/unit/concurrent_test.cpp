#include "core/concurrent.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace gate {
namespace {

TEST(ForEachConcurrently, RunsEveryItemOnceAndAtMostLimitAtOnce) {
  std::vector<int> items(20);
  for (int i = 0; i < 20; ++i) items[i] = i;
  std::mutex mutex;
  std::multiset<int> seen;
  std::atomic<int> running = 0, peak = 0;
  for_each_concurrently(items, 4, [&](int item) {
    int now = ++running;
    for (int p = peak; now > p && !peak.compare_exchange_weak(p, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    --running;
    std::lock_guard lock(mutex);
    seen.insert(item);
  });
  EXPECT_EQ(seen.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(seen.count(i), 1u) << i;
  EXPECT_LE(peak.load(), 4);
  EXPECT_GE(peak.load(), 2) << "the items did not overlap";
}

TEST(ForEachConcurrently, FinishesEveryItemThenRethrowsTheFirstErrorInItemOrder) {
  std::vector<int> items = {0, 1, 2, 3, 4, 5};
  std::atomic<int> finished = 0;
  try {
    for_each_concurrently(items, 3, [&](int item) {
      ++finished;
      if (item == 4) throw std::runtime_error("four");
      if (item == 2) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // fails after item 4 did
        throw std::runtime_error("two");
      }
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "two");
  }
  EXPECT_EQ(finished.load(), 6);
}

TEST(ForEachConcurrently, NothingToDo) {
  int calls = 0;
  for_each_concurrently(std::vector<int>{}, 8, [&](int) { ++calls; });
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace gate

// beside: the first piece's error is the one passed on, and the other
// piece has ended by then (it is never left running, whatever happened).
TEST(Beside, TheFirstErrorWinsAndTheOtherHasEnded) {
  std::atomic<bool> other_ended{false};
  auto other = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    other_ended = true;
    throw std::runtime_error("other");
  });
  try {
    gate::beside(other, [] { throw std::logic_error("first"); });
    FAIL() << "beside swallowed the first error";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "first");
  }
  EXPECT_TRUE(other_ended);
}

TEST(Beside, WithoutAFirstErrorTheOtherErrorIsPassedOn) {
  auto other = std::async(std::launch::async, [] { throw std::runtime_error("other"); });
  bool ran = false;
  EXPECT_THROW(gate::beside(other, [&] { ran = true; }), std::runtime_error);
  EXPECT_TRUE(ran);
}
