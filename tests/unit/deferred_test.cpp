#include "core/deferred.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <string>
#include <vector>

namespace gate::core {
namespace {

TEST(Deferred, RunsWhatWasAddedInOrderOnce) {
  Deferred deferred;
  std::vector<int> ran;
  deferred.add("work", [&] { ran.push_back(1); });
  deferred.add("work", [&] { ran.push_back(2); });
  EXPECT_TRUE(ran.empty());  // nothing before run
  deferred.run();
  deferred.run();  // a second run (with_reports after the command's own) does nothing again
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

TEST(Deferred, AFailureIsNotThrownAndTheRestStillRuns) {
  Deferred deferred;
  bool after = false;
  deferred.add("work", [] { throw std::runtime_error("disk full"); });
  deferred.add("work", [&] { after = true; });
  EXPECT_NO_THROW(deferred.run());
  EXPECT_TRUE(after);
}

TEST(Deferred, ConsumersAtOnceMayAdd) {
  Deferred deferred;
  std::atomic<int> ran{0};
  std::vector<std::future<void>> adders;
  for (int t = 0; t < 4; ++t)
    adders.push_back(std::async(std::launch::async, [&] {
      for (int i = 0; i < 250; ++i) deferred.add("work", [&] { ++ran; });
    }));
  for (auto& a : adders) a.get();
  deferred.run();
  EXPECT_EQ(ran.load(), 1000);
}

}  // namespace
}  // namespace gate::core
